// SharedVariable: a named, persistent tensor that compiled functions read and update in
// place, such as the weights of a model.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "damo/runtime/tensor.h"

namespace damo {

class SharedVariable {
 public:
  /// Creates a variable holding a copy of initial; its dtype and shape are fixed from then on.
  SharedVariable(std::string name, const Tensor& initial);

  const std::string& name() const { return name_; }
  DType dtype() const { return value_.dtype(); }
  const Dims& shape() const { return value_.shape(); }

  /// A copy of the current value.
  Tensor get_value() const;
  /// Copies value in; throws UserError naming the variable when dtype or shape differ.
  void set_value(const Tensor& value);

  /// The current value without a copy. Hold lock() while reading it: calls of compiled
  /// functions write it in place.
  const Tensor& value() const { return value_; }
  /// The bytes that compiled functions read and write in place, of dtype() and shape().
  /// Hold lock() while touching them. The tensor itself cannot be replaced, so its dtype
  /// and shape always match what compiled functions expect.
  void* data() { return value_.raw_data(); }
  /// Guards the value: compiled functions take it shared to read, exclusive to update.
  std::shared_mutex& lock() const { return mutex_; }

 private:
  std::string name_;
  Tensor value_;
  mutable std::shared_mutex mutex_;
};

}  // namespace damo
