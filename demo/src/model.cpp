// Model file writing and reading: header, CRC-32 and payload encoding.
#include "segment/model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <array>

#include "byte_io.h"
#include "damo/runtime/error.h"
#include "damo/runtime/io.h"
#include "text_util.h"

namespace segment {

using damo::UserError;

namespace {

constexpr std::string_view kMagic = "DAMOSEGM";

// Bounds the rank read from a damaged file before it sizes a shape vector. Other counts
// need no bound: every element they announce consumes payload bytes, so the reader runs out
// of payload first.
constexpr std::uint64_t kMaxRank = 8;

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    table[byte] = crc;
  }
  return table;
}

void put_schema(ByteWriter& out, const FeatureSchema& schema) {
  out.put<std::uint64_t>(schema.columns.size());
  for (const FeatureColumn& column : schema.columns) {
    out.put_string(column.name);
    out.put<std::uint8_t>(static_cast<std::uint8_t>(column.kind));
    out.put<double>(column.median);
    out.put<std::uint8_t>(column.log1p ? 1 : 0);
    out.put<double>(column.mean);
    out.put<double>(column.scale);
    out.put<std::uint64_t>(column.categories.size());
    for (const std::string& category : column.categories) out.put_string(category);
    out.put_string(column.mode);
  }
}

FeatureSchema get_schema(ByteReader& in) {
  FeatureSchema schema;
  auto count = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < count; ++i) {
    FeatureColumn column;
    column.name = in.get_string();
    auto kind = in.get<std::uint8_t>();
    if (kind > static_cast<std::uint8_t>(ColumnKind::Categorical))
      in.fail("an unknown column kind");
    column.kind = static_cast<ColumnKind>(kind);
    std::size_t median_offset = in.position();
    column.median = in.get<double>();
    if (!std::isfinite(column.median)) in.fail_at("a median that is not finite", median_offset);
    auto log1p = in.get<std::uint8_t>();
    if (log1p > 1) in.fail("a log1p flag other than 0 or 1");
    column.log1p = log1p != 0;
    std::size_t mean_offset = in.position();
    column.mean = in.get<double>();
    if (!std::isfinite(column.mean))
      in.fail_at(fmt::format("a standardization mean of {} for column '{}', which is not a finite number",
                             column.mean, column.name),
                 mean_offset);
    std::size_t scale_offset = in.position();
    column.scale = in.get<double>();
    // A subnormal standard deviation, such as 5e-324, turns every standardized value into
    // an infinity or NaN.
    if (!std::isnormal(column.scale) || column.scale < 0)
      in.fail_at(fmt::format("a standard deviation of {} for column '{}', which is not a positive "
                             "normal floating-point number",
                             column.scale, column.name),
                 scale_offset);
    auto categories = in.get<std::uint64_t>();
    for (std::uint64_t c = 0; c < categories; ++c) column.categories.push_back(in.get_string());
    column.mode = in.get_string();
    schema.columns.push_back(std::move(column));
  }
  return schema;
}

void put_tensor(ByteWriter& out, const damo::Tensor& tensor) {
  DAMO_ASSERT(tensor.dtype() == damo::DType::Float32, "model weights are float32");
  out.put<std::uint64_t>(tensor.shape().size());
  for (std::int64_t dim : tensor.shape()) out.put<std::int64_t>(dim);
  const float* data = tensor.data<float>();
  for (std::int64_t i = 0; i < tensor.numel(); ++i) out.put<float>(data[i]);
}

damo::Tensor get_tensor(ByteReader& in) {
  auto rank = in.get<std::uint64_t>();
  if (rank > kMaxRank) in.fail("a weight tensor of rank " + std::to_string(rank));
  damo::Dims shape;
  std::uint64_t count = 1;
  for (std::uint64_t i = 0; i < rank; ++i) {
    auto dim = in.get<std::int64_t>();
    if (dim < 0) in.fail("a negative weight dimension");
    shape.push_back(dim);
    // Compared by division, so that a product of huge dimensions cannot wrap around. Sizes
    // of 0 are left out, as Tensor leaves them out of its own overflow check.
    if (dim == 0) continue;
    std::uint64_t limit = in.remaining() / sizeof(float);
    if (count > limit / static_cast<std::uint64_t>(dim))
      in.fail("a weight tensor larger than the file");
    count *= static_cast<std::uint64_t>(dim);
  }
  damo::Tensor tensor(damo::DType::Float32, shape);
  float* data = tensor.data<float>();
  for (std::int64_t i = 0; i < tensor.numel(); ++i) {
    std::size_t offset = in.position();
    data[i] = in.get<float>();
    if (!std::isfinite(data[i])) in.fail_at("a weight that is not finite", offset);
  }
  return tensor;
}

std::string model_payload(const Model& model) {
  ByteWriter out;
  out.put_string(model.label);
  out.put<std::uint64_t>(model.segments.size());
  for (const std::string& segment : model.segments) out.put_string(segment);
  out.put_string(model.id_column);
  put_schema(out, model.schema);
  out.put<std::uint8_t>(static_cast<std::uint8_t>(model.activation));
  out.put<std::uint64_t>(model.hidden.size());
  for (std::int64_t size : model.hidden) out.put<std::int64_t>(size);
  out.put<std::uint64_t>(model.weights.size());
  for (const damo::Tensor& weight : model.weights) put_tensor(out, weight);
  if (!model.missing_values.empty()) {
    out.put<std::uint64_t>(model.missing_values.size());
    for (const std::string& marker : model.missing_values) out.put_string(marker);
  }
  return out.bytes();
}

// Returns the oldest format version that can store the model.
std::uint32_t format_version(const Model& model) { return model.missing_values.empty() ? 1 : 2; }

Model parse_payload(std::string_view payload, std::uint32_t version, const std::string& source) {
  ByteReader in(payload, source);
  Model model;
  model.label = in.get_string();
  auto segments = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < segments; ++i) model.segments.push_back(in.get_string());
  model.id_column = in.get_string();
  model.schema = get_schema(in);
  auto activation = in.get<std::uint8_t>();
  if (activation > static_cast<std::uint8_t>(Activation::Relu)) in.fail("an unknown activation");
  model.activation = static_cast<Activation>(activation);
  auto layers = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < layers; ++i) model.hidden.push_back(in.get<std::int64_t>());
  auto weights = in.get<std::uint64_t>();
  for (std::uint64_t i = 0; i < weights; ++i) model.weights.push_back(get_tensor(in));
  if (version >= 2) {
    auto markers = in.get<std::uint64_t>();
    // The writer uses version 1 for a model without markers, so each model has one encoding.
    if (markers == 0) in.fail("a version 2 model without missing-value markers");
    for (std::uint64_t i = 0; i < markers; ++i) {
      std::size_t offset = in.position();
      std::string marker = in.get_string();
      // train writes trimmed, distinct, non-blank markers only.
      if (marker.empty() || marker != trim(marker))
        in.fail_at("a missing-value marker that is blank or has surrounding spaces", offset);
      if (std::find(model.missing_values.begin(), model.missing_values.end(), marker) != model.missing_values.end())
        in.fail_at("a missing-value marker listed twice", offset);
      model.missing_values.push_back(std::move(marker));
    }
  }
  if (in.remaining() != 0) in.fail(count_of(in.remaining(), "unread byte"));
  return model;
}

template <class T>
T read_header_field(std::string_view bytes, std::size_t offset) {
  ByteReader in(bytes.substr(offset, sizeof(T)), "header");
  return in.get<T>();
}

}  // namespace

std::string_view activation_name(Activation activation) {
  switch (activation) {
  case Activation::Sigmoid: return "sigmoid";
  case Activation::Tanh: return "tanh";
  case Activation::Relu: return "relu";
  }
  return "sigmoid";
}

std::optional<Activation> parse_activation(std::string_view name) {
  for (Activation a : {Activation::Sigmoid, Activation::Tanh, Activation::Relu})
    if (activation_name(a) == name) return a;
  return std::nullopt;
}

std::uint32_t crc32(std::string_view data) {
  static const std::array<std::uint32_t, 256> table = make_crc_table();
  std::uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) crc = table[(crc ^ static_cast<unsigned char>(c)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string serialize_model(const Model& model) {
  std::string payload = model_payload(model);
  ByteWriter out;
  out.put_bytes(kMagic.data(), kMagic.size());
  out.put<std::uint32_t>(format_version(model));
  out.put<std::uint64_t>(payload.size());
  out.put<std::uint32_t>(crc32(payload));
  out.put_bytes(payload.data(), payload.size());
  return out.bytes();
}

Model parse_model(std::string_view bytes, const std::string& source) {
  if (!bytes.starts_with(kMagic.substr(0, std::min(bytes.size(), kMagic.size()))))
    throw UserError(
        fmt::format("{} is not a damo-segment model file (it does not start with "
                    "\"{}\"); pass a file written by 'damo-segment train --model'",
                    source, kMagic));
  if (bytes.size() < kModelHeaderSize)
    throw UserError(
        fmt::format("{} is truncated: {} bytes, shorter than the {}-byte header; "
                    "train the model again",
                    source, bytes.size(), kModelHeaderSize));

  auto version = read_header_field<std::uint32_t>(bytes, 8);
  if (version < 1 || version > kModelFormatVersion)
    throw UserError(
        fmt::format("{} has model format version {}, but this damo-segment reads "
                    "versions 1 to {}; train the model again with this version",
                    source, version, kModelFormatVersion));

  auto payload_size = read_header_field<std::uint64_t>(bytes, 12);
  std::size_t actual = bytes.size() - kModelHeaderSize;
  if (payload_size > actual)
    throw UserError(
        fmt::format("{} is truncated: the header announces {} payload bytes but "
                    "only {} follow; train the model again",
                    source, payload_size, actual));
  if (payload_size < actual)
    throw UserError(fmt::format("{} has {} after the {}-byte payload, so it was changed after "
                                "damo-segment wrote it; use the original file or train the model again",
                                source, count_of(actual - payload_size, "unexpected byte"), payload_size));

  std::string_view payload = bytes.substr(kModelHeaderSize);
  auto expected_crc = read_header_field<std::uint32_t>(bytes, 20);
  std::uint32_t actual_crc = crc32(payload);
  if (expected_crc != actual_crc)
    throw UserError(
        fmt::format("{} is corrupted: the payload's CRC-32 is {:08x} but the header "
                    "records {:08x}; train the model again",
                    source, actual_crc, expected_crc));

  Model model = parse_payload(payload, version, source);
  check_model_shapes(model, source);
  return model;
}

void check_model_shapes(const Model& model, const std::string& source) {
  std::vector<std::int64_t> sizes{static_cast<std::int64_t>(model.schema.width())};
  sizes.insert(sizes.end(), model.hidden.begin(), model.hidden.end());
  sizes.push_back(static_cast<std::int64_t>(model.segments.size()));

  std::size_t layers = sizes.size() - 1;
  if (model.weights.size() != 2 * layers)
    throw UserError(fmt::format("{} is inconsistent: {} layers need {} weight tensors, found {}",
                                source, layers, 2 * layers, model.weights.size()));
  for (std::size_t layer = 0; layer < layers; ++layer) {
    damo::Dims matrix{sizes[layer], sizes[layer + 1]}, bias{sizes[layer + 1]};
    const damo::Tensor& w = model.weights[2 * layer];
    const damo::Tensor& b = model.weights[2 * layer + 1];
    if (w.shape() != matrix || b.shape() != bias)
      throw UserError(fmt::format(
          "{} is inconsistent: layer {} has weights {} and bias {}, "
          "expected {} and {}",
          source, layer + 1, damo::dims_to_string(w.shape()), damo::dims_to_string(b.shape()),
          damo::dims_to_string(matrix), damo::dims_to_string(bias)));
  }
}

void save_model(const std::string& path, const Model& model) {
  check_model_shapes(model, path);
  damo::write_file_atomically(path, serialize_model(model));
}

Model load_model(const std::string& path) { return parse_model(damo::read_file(path), path); }

}  // namespace segment
