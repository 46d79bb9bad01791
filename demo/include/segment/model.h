// Model: everything prediction needs (the feature schema with its training statistics,
// the segment names and the network weights) and its file format.
//
// File layout, little-endian:
//   bytes 0-7    magic "DAMOSEGM"
//   bytes 8-11   format version: 1, or 2 for a model with missing-value markers
//                (kModelFormatVersion is the newest)
//   bytes 12-19  payload size in bytes
//   bytes 20-23  CRC-32 (IEEE 802.3 polynomial, as in zlib) of the payload
//   bytes 24-    payload: label, segments, identifier column, schema, network, weights, and
//                in version 2 the missing-value markers (at least one)
// A model without markers is written as version 1, so damo-segment releases that read only
// version 1 still read it.
// Files are written atomically, so a reader never sees a half-written model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "damo/runtime/tensor.h"
#include "segment/preprocess.h"

namespace segment {

inline constexpr std::uint32_t kModelFormatVersion = 2;
inline constexpr std::size_t kModelHeaderSize = 24;

enum class Activation : std::uint8_t { Sigmoid, Tanh, Relu };

/// "sigmoid", "tanh" or "relu".
std::string_view activation_name(Activation activation);
std::optional<Activation> parse_activation(std::string_view name);

struct Model {
  std::string label;
  std::vector<std::string> segments;
  /// Column copied into prediction output to identify rows; empty when there is none.
  std::string id_column;
  /// Cell texts that mark a missing value besides blank cells (train's --missing), which
  /// predict applies to the feature columns too.
  std::vector<std::string> missing_values;
  FeatureSchema schema;
  /// Hidden layer sizes, input side first.
  std::vector<std::int64_t> hidden;
  Activation activation = Activation::Sigmoid;
  /// Float32 weight matrix and bias of each layer in order: W1 (inputs, hidden[0]), b1
  /// (hidden[0]), ..., and last the output layer (hidden.back(), segments).
  std::vector<damo::Tensor> weights;
};

/// CRC-32 of data with the IEEE 802.3 polynomial (0xEDB88320 reflected), as zlib computes it.
std::uint32_t crc32(std::string_view data);

/// The file bytes of model.
std::string serialize_model(const Model& model);

/// Parses model file bytes; source names them in messages. Throws UserError saying that
/// the bytes are not a model file, are truncated, have another format version, fail the
/// checksum or describe inconsistent shapes.
Model parse_model(std::string_view bytes, const std::string& source);

/// Writes the model file atomically.
void save_model(const std::string& path, const Model& model);
Model load_model(const std::string& path);

/// Throws UserError naming source when the weight shapes do not fit the schema width,
/// hidden sizes and segment count.
void check_model_shapes(const Model& model, const std::string& source);

}  // namespace segment
