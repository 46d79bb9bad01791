#include "damo/runtime/npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "damo/runtime/io.h"

namespace damo {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

std::string_view descr_for(DType dtype) {
  switch (dtype) {
  case DType::Bool: return "|b1";
  case DType::Int32: return "<i4";
  case DType::Int64: return "<i8";
  case DType::Float32: return "<f4";
  case DType::Float64: return "<f8";
  }
  return "";
}

[[noreturn]] void fail(const std::string& source, const std::string& what) {
  throw UserError(fmt::format("invalid .npy file '{}': {}", source, what));
}

// Returns the text after "'key':" in the header dictionary, or throws.
std::string_view header_value(std::string_view header, std::string_view key,
                              const std::string& source) {
  std::string quoted = fmt::format("'{}'", key);
  std::size_t at = header.find(quoted);
  if (at == std::string_view::npos) fail(source, fmt::format("header has no {} entry", quoted));
  std::size_t colon = header.find(':', at + quoted.size());
  if (colon == std::string_view::npos) fail(source, fmt::format("header entry {} has no value", quoted));
  std::string_view rest = header.substr(colon + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

struct Descr {
  DType dtype;
  bool big_endian;
};

Descr parse_descr(std::string_view value, const std::string& source) {
  if (value.size() < 2 || (value[0] != '\'' && value[0] != '"'))
    fail(source, "descr is not a quoted string (structured dtypes are not supported)");
  std::size_t end = value.find(value[0], 1);
  if (end == std::string_view::npos) fail(source, "descr string is not terminated");
  std::string_view d = value.substr(1, end - 1);
  if (d.size() < 3) fail(source, fmt::format("unsupported dtype '{}'", d));
  char order = d[0];
  std::string_view kind = d.substr(1);
  bool big = order == '>';
  if (order != '<' && order != '>' && order != '|' && order != '=')
    fail(source, fmt::format("unsupported byte order in dtype '{}'", d));
  if (kind == "b1") return {DType::Bool, false};
  if (kind == "i4") return {DType::Int32, big};
  if (kind == "i8") return {DType::Int64, big};
  if (kind == "f4") return {DType::Float32, big};
  if (kind == "f8") return {DType::Float64, big};
  fail(source, fmt::format("unsupported dtype '{}': Damo reads bool, int32, int64, float32 and "
                           "float64; convert with array.astype() before saving",
                           d));
}

Dims parse_shape(std::string_view value, const std::string& source) {
  if (value.empty() || value[0] != '(') fail(source, "shape is not a tuple");
  std::size_t close = value.find(')');
  if (close == std::string_view::npos) fail(source, "shape tuple is not closed");
  std::string_view inner = value.substr(1, close - 1);
  Dims dims;
  std::size_t i = 0;
  while (i < inner.size()) {
    while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
    if (i >= inner.size()) break;
    std::int64_t d = 0;
    std::size_t start = i;
    while (i < inner.size() && inner[i] >= '0' && inner[i] <= '9') {
      if (d > (INT64_MAX - 9) / 10) fail(source, "shape dimension too large");
      d = d * 10 + (inner[i] - '0');
      ++i;
    }
    if (i == start) fail(source, fmt::format("invalid shape '{}'", value.substr(0, close + 1)));
    dims.push_back(d);
  }
  return dims;
}

void byte_swap(Tensor& t) {
  std::size_t size = dtype_size(t.dtype());
  auto* bytes = static_cast<unsigned char*>(t.raw_data());
  for (std::int64_t i = 0; i < t.numel(); ++i) std::reverse(bytes + i * size, bytes + (i + 1) * size);
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& source) {
  // A file that starts like the magic string but ends early is truncated, not foreign.
  bool magic_matches = !bytes.empty() && std::memcmp(bytes.data(), kMagic,
                                                     std::min(bytes.size(), kMagicSize)) == 0;
  if (!magic_matches)
    fail(source, "missing the \\x93NUMPY magic string; this is not a .npy file");
  if (bytes.size() < 10)
    fail(source, fmt::format("truncated header: the file has only {} bytes", bytes.size()));
  auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_length = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_length = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(source, "truncated header");
    for (int i = 3; i >= 0; --i) header_length = (header_length << 8) | static_cast<unsigned char>(bytes[8 + i]);
    header_start = 12;
  } else {
    fail(source, fmt::format("unsupported format version {}", major));
  }
  if (header_start + header_length > bytes.size()) fail(source, "truncated header");
  std::string_view header = bytes.substr(header_start, header_length);

  Descr descr = parse_descr(header_value(header, "descr", source), source);
  bool fortran = header_value(header, "fortran_order", source).substr(0, 4) == "True";
  Dims shape = parse_shape(header_value(header, "shape", source), source);

  Dims stored_shape = shape;
  if (fortran) std::reverse(stored_shape.begin(), stored_shape.end());
  Tensor t = Tensor::empty(descr.dtype, stored_shape);
  std::size_t data_start = header_start + header_length;
  if (bytes.size() - data_start < t.nbytes())
    fail(source, fmt::format("truncated data: shape {} of {} needs {} bytes, the file has {}",
                             dims_to_string(shape), dtype_name(descr.dtype), t.nbytes(),
                             bytes.size() - data_start));
  if (t.nbytes() > 0) std::memcpy(t.raw_data(), bytes.data() + data_start, t.nbytes());
  if (descr.big_endian) byte_swap(t);
  if (descr.dtype == DType::Bool) {
    auto* b = static_cast<unsigned char*>(t.raw_data());
    for (std::int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] != 0;
  }
  if (fortran && t.rank() > 1) {
    std::vector<int> perm(t.rank());
    for (int i = 0; i < t.rank(); ++i) perm[i] = t.rank() - 1 - i;
    return t.permute(perm);
  }
  return t;
}

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string serialize_npy(const Tensor& tensor) {
  if (!tensor.defined()) throw UserError("save_npy: the tensor is undefined");
  std::string shape;
  for (std::int64_t d : tensor.shape()) shape += fmt::format("{}, ", d);
  if (tensor.rank() > 1) shape.resize(shape.size() - 2);
  else if (tensor.rank() == 1) shape.resize(shape.size() - 1);
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                 descr_for(tensor.dtype()), shape);
  // The header, including magic and length fields, is padded with spaces to a multiple of
  // 64 bytes and ends with a newline.
  bool v2 = dict.size() + 11 > 65535;
  std::size_t prefix = v2 ? 12 : 10;
  std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(v2 ? 2 : 1);
  out += '\0';
  std::size_t length = dict.size();
  for (std::size_t i = 0; i < (v2 ? 4u : 2u); ++i) out += static_cast<char>((length >> (8 * i)) & 0xff);
  out += dict;
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  return out;
}

void save_npy(const std::string& path, const Tensor& tensor) {
  write_file_atomically(path, serialize_npy(tensor));
}

}  // namespace damo
