#include "damo/runtime/shared_variable.h"

#include <fmt/format.h>

#include <cstring>
#include <mutex>

namespace damo {

SharedVariable::SharedVariable(std::string name, const Tensor& initial) : name_(std::move(name)) {
  if (!initial.defined())
    throw UserError(fmt::format("shared variable '{}': the initial value is undefined", name_));
  value_ = initial.clone();
}

Tensor SharedVariable::get_value() const {
  std::shared_lock guard(mutex_);
  return value_.clone();
}

void SharedVariable::set_value(const Tensor& value) {
  if (!value.defined())
    throw UserError(fmt::format("shared variable '{}': cannot set an undefined value", name_));
  if (value.dtype() != value_.dtype() || value.shape() != value_.shape())
    throw UserError(fmt::format("shared variable '{}' is {} {}; the new value is {} {}; a shared "
                                "variable keeps the dtype and shape it was created with",
                                name_, dtype_name(value_.dtype()), dims_to_string(value_.shape()),
                                dtype_name(value.dtype()), dims_to_string(value.shape())));
  std::unique_lock guard(mutex_);
  if (value.nbytes() > 0) std::memmove(value_.raw_data(), value.raw_data(), value.nbytes());
}

}  // namespace damo
