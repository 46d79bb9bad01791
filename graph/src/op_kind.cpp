#include "damo/graph/op_kind.h"

#include <array>

namespace damo {

namespace {

struct OpInfo {
  std::string_view name;
  OpCategory category;
};

constexpr std::array<OpInfo, kOpKindCount> kOpInfo = {{
#define DAMO_OP_INFO(name, text, category) {text, OpCategory::category},
    DAMO_OP_KINDS(DAMO_OP_INFO)
#undef DAMO_OP_INFO
}};

}  // namespace

std::string_view op_name(OpKind op) { return kOpInfo[static_cast<std::size_t>(op)].name; }

OpCategory op_category(OpKind op) { return kOpInfo[static_cast<std::size_t>(op)].category; }

std::optional<OpKind> op_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kOpInfo.size(); ++i)
    if (kOpInfo[i].name == name) return static_cast<OpKind>(i);
  return std::nullopt;
}

bool is_commutative(OpKind op) {
  switch (op) {
  case OpKind::Add:
  case OpKind::Mul:
  case OpKind::Maximum:
  case OpKind::Minimum:
  case OpKind::Eq:
  case OpKind::Ne:
  case OpKind::And:
  case OpKind::Or: return true;
  default: return false;
  }
}

}  // namespace damo
