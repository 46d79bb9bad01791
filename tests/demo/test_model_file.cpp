// Model files: round trip, CRC-32, and clear errors for truncated, corrupted, foreign and
// other-version files.
#include <doctest/doctest.h>

#include <cstring>

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "demo/test_util.h"
#include "segment/model.h"

using namespace segment;
using namespace segment_test;

namespace {

damo::Tensor counting_tensor(damo::Dims shape, float start) {
  damo::Tensor t(damo::DType::Float32, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i)
    t.set_double(i, start + 0.25 * static_cast<double>(i));
  return t;
}

// Inputs: amount (numeric, log) and city (3 categories), so 4 features; 5 hidden; 2 segments.
Model small_model() {
  Model model;
  model.label = "Channel";
  model.segments = {"1", "2"};
  model.id_column = "CustomerID";
  FeatureColumn amount;
  amount.name = "amount";
  amount.median = 2;
  amount.log1p = true;
  amount.mean = 1.5;
  amount.scale = 0.75;
  FeatureColumn city;
  city.name = "city, town";
  city.kind = ColumnKind::Categorical;
  city.categories = {"Porto", "Lisbon", "Faro"};
  city.mode = "Porto";
  model.schema.columns = {amount, city};
  model.hidden = {5};
  model.activation = Activation::Tanh;
  model.weights = {counting_tensor({4, 5}, -1), counting_tensor({5}, 0.5),
                   counting_tensor({5, 2}, 2), counting_tensor({2}, -0.125)};
  return model;
}

}  // namespace

TEST_CASE("crc32 check value") {
  // The standard CRC-32 check value of the nine ASCII digits.
  CHECK(crc32("123456789") == 0xCBF43926u);
  CHECK(crc32("") == 0u);
}

TEST_CASE("model round trip through a file") {
  Model model = small_model();
  std::string path = temp_dir("model_round_trip") + "/m.damoseg";
  save_model(path, model);
  Model loaded = load_model(path);

  CHECK(loaded.label == "Channel");
  CHECK(loaded.segments == model.segments);
  CHECK(loaded.id_column == "CustomerID");
  REQUIRE(loaded.schema.columns.size() == 2);
  CHECK(loaded.schema.columns[0].name == "amount");
  CHECK(loaded.schema.columns[0].log1p);
  CHECK(loaded.schema.columns[0].median == 2.0);
  CHECK(loaded.schema.columns[0].mean == 1.5);
  CHECK(loaded.schema.columns[0].scale == 0.75);
  CHECK(loaded.schema.columns[1].name == "city, town");
  CHECK(loaded.schema.columns[1].kind == ColumnKind::Categorical);
  CHECK(loaded.schema.columns[1].categories == model.schema.columns[1].categories);
  CHECK(loaded.schema.columns[1].mode == "Porto");
  CHECK(loaded.hidden == std::vector<std::int64_t>{5});
  CHECK(loaded.activation == Activation::Tanh);
  REQUIRE(loaded.weights.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(loaded.weights[i].bitwise_equals(model.weights[i]));
  CHECK(serialize_model(loaded) == serialize_model(model));
}

TEST_CASE("model missing markers need version 2") {
  // Without markers the file is version 1, which readers of version 1 alone can read.
  std::string plain = serialize_model(small_model());
  CHECK(plain[8] == 1);
  CHECK(parse_model(plain, "m.bin").missing_values.empty());

  Model model = small_model();
  model.missing_values = {"NA", "n/a, none"};
  std::string marked = serialize_model(model);
  CHECK(marked[8] == 2);
  // The markers follow the version 1 payload: a count and the length-prefixed texts.
  CHECK(marked.size() == plain.size() + 8 + (8 + 2) + (8 + 9));
  Model loaded = parse_model(marked, "m.bin");
  CHECK(loaded.missing_values == model.missing_values);
  CHECK(serialize_model(loaded) == marked);

  // Version 2 with no markers is not a file this writer makes.
  std::string payload = plain.substr(kModelHeaderSize) + std::string(8, '\0');
  std::string empty = plain.substr(0, kModelHeaderSize) + payload;
  empty[8] = 2;
  auto size = static_cast<std::uint64_t>(payload.size());
  std::memcpy(empty.data() + 12, &size, sizeof size);
  std::uint32_t crc = crc32(payload);
  std::memcpy(empty.data() + 20, &crc, sizeof crc);
  CHECK(contains(error_message([&] { parse_model(empty, "m.bin"); }),
                 "a version 2 model without missing-value markers"));

  // Markers that train never writes: blank, padded or repeated.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{""}, std::vector<std::string>{" NA"}, std::vector<std::string>{"NA", "NA"}}) {
    Model odd = small_model();
    odd.missing_values = bad;
    std::string message = error_message([&] { parse_model(serialize_model(odd), "m.bin"); });
    CHECK((contains(message, "blank or has surrounding spaces") || contains(message, "listed twice")));
  }
}

TEST_CASE("model truncated at any length") {
  std::string bytes = serialize_model(small_model());
  for (std::size_t length : {std::size_t{0}, std::size_t{4}, std::size_t{12}, std::size_t{23},
                             std::size_t{24}, bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(length);
    std::string message = error_message([&] { parse_model(bytes.substr(0, length), "m.bin"); });
    CHECK(contains(message, "m.bin is truncated"));
  }
}

TEST_CASE("model byte flip in payload fails the checksum") {
  std::string bytes = serialize_model(small_model());
  for (std::size_t position : {kModelHeaderSize, kModelHeaderSize + 40, bytes.size() - 1}) {
    CAPTURE(position);
    std::string damaged = bytes;
    damaged[position] = static_cast<char>(damaged[position] ^ 0x10);
    std::string message = error_message([&] { parse_model(damaged, "m.bin"); });
    CHECK(contains(message, "m.bin is corrupted"));
    CHECK(contains(message, "CRC-32"));
  }
}

TEST_CASE("model byte flip in the header") {
  std::string bytes = serialize_model(small_model());
  std::string magic = bytes;
  magic[0] = 'X';
  CHECK(contains(error_message([&] { parse_model(magic, "m.bin"); }),
                 "m.bin is not a damo-segment model file"));
  std::string checksum = bytes;
  checksum[21] = static_cast<char>(checksum[21] ^ 1);
  CHECK(contains(error_message([&] { parse_model(checksum, "m.bin"); }), "is corrupted"));
  std::string size = bytes;
  size[12] = static_cast<char>(size[12] ^ 1);
  std::string message = error_message([&] { parse_model(size, "m.bin"); });
  CHECK((contains(message, "truncated") || contains(message, "unexpected bytes")));
}

TEST_CASE("model other format version") {
  std::string bytes = serialize_model(small_model());
  bytes[8] = 3;
  std::string message = error_message([&] { parse_model(bytes, "old.bin"); });
  CHECK(contains(message, "old.bin has model format version 3"));
  CHECK(contains(message, "reads versions 1 to 2"));
}

TEST_CASE("model trailing bytes rejected") {
  std::string bytes = serialize_model(small_model()) + "extra";
  CHECK(contains(error_message([&] { parse_model(bytes, "m.bin"); }), "5 unexpected bytes"));
  std::string one_extra = serialize_model(small_model()) + "x";
  CHECK(contains(error_message([&] { parse_model(one_extra, "m.bin"); }), "has 1 unexpected byte after"));
  CHECK(error_message([&] { parse_model(bytes, "m.bin"); }) ==
        fmt::format("m.bin has 5 unexpected bytes after the {}-byte payload, so it was changed after "
                    "damo-segment wrote it; use the original file or train the model again",
                    bytes.size() - 5 - kModelHeaderSize));
}

TEST_CASE("model foreign file rejected") {
  std::string message = error_message([] { parse_model("Fresh,Milk\n1,2\n", "data.csv"); });
  CHECK(contains(message, "data.csv is not a damo-segment model file"));
}

TEST_CASE("model shapes checked against schema") {
  Model model = small_model();
  model.weights[0] = counting_tensor({3, 5}, 0);
  std::string message = error_message([&] { check_model_shapes(model, "m.bin"); });
  CHECK(contains(message, "layer 1 has weights (3, 5)"));
  CHECK(contains(message, "expected (4, 5)"));
  model.weights.pop_back();
  CHECK(contains(error_message([&] { check_model_shapes(model, "m.bin"); }), "need 4 weight"));
}

TEST_CASE("model load names a missing file") {
  CHECK(contains(error_message([] { load_model("/nonexistent/m.bin"); }), "/nonexistent/m.bin"));
}

TEST_CASE("model with non-finite numbers rejected") {
  // serialize_model adds a valid checksum, so only the value checks can catch these.
  Model model = small_model();
  model.weights[2].set_double(3, std::nan(""));
  std::string bytes = serialize_model(model);
  float nan = std::nanf("");
  std::string nan_bytes(reinterpret_cast<const char*>(&nan), sizeof nan);
  std::size_t offset = bytes.find(nan_bytes);
  REQUIRE(offset != std::string::npos);
  std::string message = error_message([&] { parse_model(bytes, "nan.bin"); });
  CHECK(message == fmt::format("nan.bin is not a valid model file: a weight that is not finite at "
                               "payload byte {}; train the model again",
                               offset - kModelHeaderSize));
  model = small_model();
  model.schema.columns[0].scale = 0;
  message = error_message([&] { parse_model(serialize_model(model), "scale.bin"); });
  CHECK(contains(message, "scale.bin is not a valid model file: a standard deviation of 0 for column 'amount'"));
  model = small_model();
  model.schema.columns[0].mean = std::nan("");
  message = error_message([&] { parse_model(serialize_model(model), "mean.bin"); });
  CHECK(contains(message, "mean.bin is not a valid model file: a standardization mean of nan for column 'amount'"));
}

TEST_CASE("model with an invalid standard deviation rejected") {
  // A subnormal standard deviation makes every standardized value infinite or NaN.
  for (double scale : {0.0, -0.75, std::nan(""), std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::denorm_min()}) {
    CAPTURE(scale);
    Model model = small_model();
    model.schema.columns[0].scale = scale;
    std::string bytes = serialize_model(model);
    // The standard deviation follows the column's mean, 1.5.
    double mean = model.schema.columns[0].mean;
    std::string statistics(reinterpret_cast<const char*>(&mean), sizeof mean);
    statistics.append(reinterpret_cast<const char*>(&scale), sizeof scale);
    std::size_t offset = bytes.find(statistics);
    REQUIRE(offset != std::string::npos);
    offset += sizeof mean;
    std::string message = error_message([&] { parse_model(bytes, "scale.bin"); });
    CHECK(message == fmt::format("scale.bin is not a valid model file: a standard deviation of {} for "
                                 "column 'amount', which is not a positive normal floating-point number "
                                 "at payload byte {}; train the model again",
                                 scale, offset - kModelHeaderSize));
  }
  // The smallest normal double is still a standard deviation.
  Model model = small_model();
  model.schema.columns[0].scale = std::numeric_limits<double>::min();
  CHECK(parse_model(serialize_model(model), "tiny.bin").schema.columns[0].scale ==
        std::numeric_limits<double>::min());
}
