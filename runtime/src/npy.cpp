#include "damo/runtime/npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

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

// What the header of a .npy file says about its data.
struct NpyLayout {
  Descr descr{DType::Float32, false};
  bool fortran = false;
  Dims shape;
  std::size_t data_start = 0;
};

// Parses the magic string and header at the start of bytes, which needs to hold at least
// the whole header.
NpyLayout parse_header(std::string_view bytes, const std::string& source) {
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

  NpyLayout layout;
  layout.descr = parse_descr(header_value(header, "descr", source), source);
  layout.fortran = header_value(header, "fortran_order", source).substr(0, 4) == "True";
  layout.shape = parse_shape(header_value(header, "shape", source), source);
  layout.data_start = header_start + header_length;
  return layout;
}

// The tensor a header describes, with its elements stored in file order still to fill.
Tensor allocate_for(const NpyLayout& layout, const std::string& source) {
  Dims stored_shape = layout.shape;
  if (layout.fortran) std::reverse(stored_shape.begin(), stored_shape.end());
  try {
    return Tensor::empty(layout.descr.dtype, stored_shape);
  } catch (const UserError& e) {
    fail(source, e.what());  // a shape beyond the limits of a tensor
  }
}

// Bytes of the elements a header describes, or nullopt when the count overflows.
std::optional<std::size_t> data_bytes(const NpyLayout& layout) {
  std::size_t total = dtype_size(layout.descr.dtype);
  for (std::int64_t d : layout.shape) {
    if (d < 0) return std::nullopt;
    if (d != 0 && total > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d))
      return std::nullopt;
    total *= static_cast<std::size_t>(d);
  }
  return total;
}

// Rejects a file with fewer data bytes than its header describes. It runs before the
// tensor is allocated, so a damaged header cannot make a small file allocate its claimed
// size first. A size that overflows is left to allocate_for(), which names the limit.
void check_available(const std::string& source, const NpyLayout& layout, std::size_t available) {
  std::optional<std::size_t> needed = data_bytes(layout);
  if (!needed || *needed <= available) return;
  fail(source, fmt::format("truncated data: shape {} of {} needs {} bytes, the file has {}",
                           dims_to_string(layout.shape), dtype_name(layout.descr.dtype), *needed,
                           available));
}

// Byte order, bool normalization and Fortran order, applied once the elements are read.
Tensor finish(Tensor t, const NpyLayout& layout) {
  if (layout.descr.big_endian) byte_swap(t);
  if (layout.descr.dtype == DType::Bool) {
    auto* b = static_cast<unsigned char*>(t.raw_data());
    for (std::int64_t i = 0; i < t.numel(); ++i) b[i] = b[i] != 0;
  }
  if (layout.fortran && t.rank() > 1) {
    std::vector<int> perm(t.rank());
    for (int i = 0; i < t.rank(); ++i) perm[i] = t.rank() - 1 - i;
    return t.permute(perm);
  }
  return t;
}

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& source) {
  NpyLayout layout = parse_header(bytes, source);
  check_available(source, layout, bytes.size() - layout.data_start);
  Tensor t = allocate_for(layout, source);
  if (t.nbytes() > 0) std::memcpy(t.raw_data(), bytes.data() + layout.data_start, t.nbytes());
  return finish(std::move(t), layout);
}

Tensor load_npy(const std::string& path) {
  // The elements are read straight into the tensor, so a large file is never held twice.
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(EISDIR)));
  in.seekg(0, std::ios::end);
  std::streamoff end = in.tellg();
  // A pipe cannot seek. It is read whole from the stream already open, because opening it
  // again would wait for another writer.
  if (end < 0) {
    in.clear();
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    return parse_npy(bytes.str(), path);
  }
  auto file_size = static_cast<std::size_t>(end);
  in.seekg(0);
  // Headers are at most 4 GiB by format, but real ones are a few hundred bytes; this reads
  // up to 64 KiB first and the rest of a longer header when it says so.
  std::string head(std::min<std::size_t>(file_size, 65536), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (head.size() >= 12 && static_cast<unsigned char>(head[6]) >= 2) {
    std::size_t header_length = 0;
    for (int i = 3; i >= 0; --i) header_length = (header_length << 8) | static_cast<unsigned char>(head[8 + i]);
    std::size_t wanted = std::min(file_size, 12 + header_length);
    if (wanted > head.size()) {
      std::size_t had = head.size();
      head.resize(wanted);
      in.read(head.data() + had, static_cast<std::streamsize>(wanted - had));
    }
  }
  NpyLayout layout = parse_header(head, path);
  check_available(path, layout, file_size - std::min(file_size, layout.data_start));
  Tensor t = allocate_for(layout, path);
  in.clear();
  in.seekg(static_cast<std::streamoff>(layout.data_start));
  in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(t.nbytes()));
  if (!in) throw UserError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
  return finish(std::move(t), layout);
}

std::string serialize_npy(const Tensor& tensor) {
  if (!tensor.defined()) throw UserError("save_npy: the tensor is undefined");
  std::string shape;
  for (std::int64_t d : tensor.shape()) shape += fmt::format("{}, ", d);
  if (tensor.rank() > 1) shape.resize(shape.size() - 2);
  else if (tensor.rank() == 1) shape.resize(shape.size() - 1);
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}",
                                 descr_for(tensor.dtype()), shape);
  // The header, including magic and length fields, is padded with spaces to a multiple of
  // 64 bytes and ends with a newline. Version 1 allows 65,535 header bytes, and kMaxRank
  // sizes of at most 19 digits take under 1,500.
  std::size_t prefix = 10;
  std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';
  std::string out(kMagic, kMagicSize);
  out += static_cast<char>(1);
  out += '\0';
  std::size_t length = dict.size();
  for (std::size_t i = 0; i < 2; ++i) out += static_cast<char>((length >> (8 * i)) & 0xff);
  out += dict;
  out.append(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
  return out;
}

void save_npy(const std::string& path, const Tensor& tensor) {
  write_file_atomically(path, serialize_npy(tensor));
}

}  // namespace damo
