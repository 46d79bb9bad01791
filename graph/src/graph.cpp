#include "damo/graph/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "damo/graph/expr.h"

namespace damo {

namespace {

void hash_mix(std::size_t& h, std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

}  // namespace

bool NodeSpec::operator==(const NodeSpec& other) const {
  if (op != other.op || dtype != other.dtype || weak != other.weak || shape != other.shape ||
      inputs != other.inputs || attrs != other.attrs || name != other.name ||
      shared != other.shared)
    return false;
  return value.bitwise_equals(other.value);
}

std::size_t NodeSpec::hash() const {
  std::size_t h = static_cast<std::size_t>(op) * 1000003u;
  hash_mix(h, static_cast<std::size_t>(dtype));
  hash_mix(h, weak);
  for (const Dim& d : shape) {
    hash_mix(h, std::hash<std::int64_t>{}(d.size()));
    hash_mix(h, std::hash<std::string>{}(d.symbol()));
  }
  for (const Node* input : inputs) hash_mix(h, std::hash<const void*>{}(input));
  for (std::int64_t v : attrs.ints) hash_mix(h, std::hash<std::int64_t>{}(v));
  hash_mix(h, attrs.keepdims);
  hash_mix(h, static_cast<std::size_t>(attrs.dtype));
  hash_mix(h, static_cast<std::size_t>(attrs.sub_op));
  hash_mix(h, std::hash<const void*>{}(attrs.body));
  hash_mix(h, std::hash<std::string>{}(name));
  hash_mix(h, std::hash<const void*>{}(shared.get()));
  if (value.defined()) hash_mix(h, value.content_hash());
  return h;
}

bool Node::is_constant_value(double expected) const {
  if (!is_constant()) return false;
  const Tensor& v = spec_.value;
  for (std::int64_t i = 0; i < v.numel(); ++i)
    if (v.get_double(i) != expected) return false;
  return v.numel() > 0;
}

void Node::fail_index(const char* accessor, std::size_t index, std::size_t count) const {
  throw UserError(fmt::format("{}: index {} is out of range for a {} node with {} entries",
                              accessor, index, op_name(op()), count));
}

void Expr::fail_undefined() {
  throw UserError("use of an undefined Expr: it was default-constructed and refers to no node; "
                  "assign it from Graph::input(), an op or another Expr first");
}

Graph::Graph() = default;

Graph::~Graph() {
  // Waits for every GraphUse to end; later ones see the graph gone.
  std::unique_lock lock(lifetime_->mutex);
  lifetime_->alive = false;
}

std::optional<GraphUse> Graph::try_use(const std::weak_ptr<const void>& lifetime) {
  std::shared_ptr<const void> token = lifetime.lock();
  if (!token) return std::nullopt;
  // Every token that lifetime() hands out points to a GraphLifetime.
  auto state = std::const_pointer_cast<detail::GraphLifetime>(
      std::static_pointer_cast<const detail::GraphLifetime>(token));
  GraphUse use(state);
  if (!state->alive) return std::nullopt;
  return use;
}

namespace {

// Rejects a node shape that no tensor could have: more than kMaxRank axes, a negative
// static size, or static sizes whose product overflows int64.
void check_node_shape(const NodeSpec& spec) {
  const Shape& shape = spec.shape;
  if (shape.rank() > kMaxRank)
    throw UserError(fmt::format("{}: the result would have {} axes; tensors have at most {}",
                                op_name(spec.op), shape.rank(), kMaxRank));
  for (const Dim& d : shape.dims())
    if (d.is_static() && d.size() < 0)
      throw UserError(fmt::format("{}: the result shape {} has a negative dimension",
                                  op_name(spec.op), shape.to_string()));
  // Sizes of 0 are left out of the product, so that (0, 2^32, 2^32) is rejected like
  // (2^32, 2^32, 0): strides are products of sizes in either order.
  std::int64_t elements = 1;
  for (const Dim& d : shape.dims()) {
    if (d.is_symbolic() || d.size() == 0) continue;
    if (__builtin_mul_overflow(elements, d.size(), &elements)) {
      bool empty = std::any_of(shape.dims().begin(), shape.dims().end(),
                               [](const Dim& e) { return e.is_static() && e.size() == 0; });
      std::string_view op = op_name(spec.op);
      throw UserError(empty ? fmt::format("{}: the nonzero sizes of the result shape {} multiply "
                                          "beyond int64",
                                          op, shape.to_string())
                            : fmt::format("{}: the result shape {} has more elements than fit "
                                          "in int64",
                                          op, shape.to_string()));
    }
  }
}

}  // namespace

const Node* Graph::intern(NodeSpec spec) {
  check_node_shape(spec);
  std::size_t h = spec.hash();
  std::lock_guard lock(mutex_);
  auto [begin, end] = table_.equal_range(h);
  for (auto it = begin; it != end; ++it)
    if (it->second->spec() == spec) return it->second;
  auto node = std::unique_ptr<Node>(new Node(this, nodes_.size(), std::move(spec), h));
  const Node* raw = node.get();
  nodes_.push_back(std::move(node));
  table_.emplace(h, raw);
  return raw;
}

std::size_t Graph::node_count() const {
  std::lock_guard lock(mutex_);
  return nodes_.size();
}

Expr Graph::input(const std::string& name, DType dtype, const Shape& shape) {
  if (name.empty()) throw UserError("Graph::input: an input needs a non-empty name");
  for (const Dim& d : shape) {
    if (d.is_static() && d.size() < 0)
      throw UserError(fmt::format("input '{}': dimension {} in shape {} is negative", name,
                                  d.size(), shape.to_string()));
    // A call binds an input's symbols from its argument, and a derived size follows from
    // its base symbol instead.
    if (d.is_derived())
      throw UserError(fmt::format("input '{}': the size {} in shape {} is derived from the symbol "
                                  "{}; declare the input with a symbol of its own",
                                  name, d.symbol(), shape.to_string(), d.base_symbol()));
  }
  {
    std::lock_guard lock(mutex_);
    auto it = inputs_by_name_.find(name);
    if (it != inputs_by_name_.end()) {
      const Node* existing = it->second;
      if (existing->dtype() == dtype && existing->shape() == shape) return Expr(existing);
      throw UserError(fmt::format("input '{}' is already declared as {} {}; it cannot also be {} "
                                  "{}; choose another name",
                                  name, dtype_name(existing->dtype()),
                                  existing->shape().to_string(), dtype_name(dtype),
                                  shape.to_string()));
    }
    // Printed graphs name both kinds of leaf by name alone, so the names must differ.
    if (shared_by_name_.count(name) != 0)
      throw UserError(fmt::format("a shared variable named '{}' already exists in this graph; "
                                  "give the input another name",
                                  name));
  }
  NodeSpec spec;
  spec.op = OpKind::Input;
  spec.dtype = dtype;
  spec.shape = shape;
  spec.name = name;
  const Node* node = intern(std::move(spec));
  std::lock_guard lock(mutex_);
  inputs_by_name_.emplace(name, node);
  return Expr(node);
}

Expr Graph::constant(const Tensor& value) {
  if (!value.defined()) throw UserError("Graph::constant: the tensor is undefined");
  NodeSpec spec;
  spec.op = OpKind::Constant;
  spec.dtype = value.dtype();
  spec.shape = Shape::from_dims(value.shape());
  spec.value = value.clone();
  return Expr(intern(std::move(spec)));
}

Expr Graph::scalar(double value, DType dtype) { return constant(Tensor::scalar(dtype, value)); }

Expr Graph::literal(double value, bool is_integer) {
  return weak_constant(Tensor::scalar(is_integer ? DType::Int64 : DType::Float64, value));
}

Expr Graph::weak_constant(const Tensor& value) {
  if (!value.defined()) throw UserError("Graph::weak_constant: the tensor is undefined");
  NodeSpec spec;
  spec.op = OpKind::Constant;
  spec.dtype = value.dtype();
  spec.weak = true;
  spec.shape = Shape::from_dims(value.shape());
  spec.value = value.clone();
  return Expr(intern(std::move(spec)));
}

Expr Graph::shared(const std::string& name, const Tensor& initial) {
  if (name.empty()) throw UserError("Graph::shared: a shared variable needs a non-empty name");
  {
    std::lock_guard lock(mutex_);
    if (shared_by_name_.count(name) != 0)
      throw UserError(fmt::format("a shared variable named '{}' already exists in this graph; "
                                  "choose another name or reuse the existing variable",
                                  name));
  }
  return shared(std::make_shared<SharedVariable>(name, initial));
}

Expr Graph::shared(const std::shared_ptr<SharedVariable>& variable) {
  if (!variable) throw UserError("Graph::shared: the variable is null");
  {
    std::lock_guard lock(mutex_);
    auto it = shared_by_name_.find(variable->name());
    if (it != shared_by_name_.end() && it->second != variable)
      throw UserError(fmt::format("another shared variable named '{}' already exists in this "
                                  "graph",
                                  variable->name()));
    if (inputs_by_name_.count(variable->name()) != 0)
      throw UserError(fmt::format("an input named '{}' already exists in this graph; give the "
                                  "shared variable another name",
                                  variable->name()));
    shared_by_name_[variable->name()] = variable;
  }
  NodeSpec spec;
  spec.op = OpKind::Shared;
  spec.dtype = variable->dtype();
  spec.shape = Shape::from_dims(variable->shape());
  spec.name = variable->name();
  spec.shared = variable;
  return Expr(intern(std::move(spec)));
}

std::shared_ptr<SharedVariable> Graph::find_shared(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = shared_by_name_.find(name);
  return it == shared_by_name_.end() ? nullptr : it->second;
}

const Node* Graph::find_input(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = inputs_by_name_.find(name);
  return it == inputs_by_name_.end() ? nullptr : it->second;
}

}  // namespace damo
