// NumPy .npy files (format versions 1.0, 2.0 and 3.0), so tensors move to and from Python.
#pragma once

#include <string>
#include <string_view>

#include "damo/runtime/tensor.h"

namespace damo {

/// Reads a .npy file of dtype bool, int32, int64, float32 or float64, little- or big-endian,
/// C or Fortran order. Throws UserError naming the file and what is wrong with it.
Tensor load_npy(const std::string& path);
/// Parses .npy bytes; source names them in errors.
Tensor parse_npy(std::string_view bytes, const std::string& source = "<bytes>");

/// Writes a version 1.0 .npy file (2.0 when the header needs it), atomically.
void save_npy(const std::string& path, const Tensor& tensor);
std::string serialize_npy(const Tensor& tensor);

}  // namespace damo
