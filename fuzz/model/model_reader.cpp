// Fuzz harness of the damo-segment model reader. The first byte selects the mode. An odd
// byte feeds the rest to parse_model() as a whole file. An even byte wraps the rest in a
// valid header with the right CRC-32, of version 2 when the byte's bit 1 is set and
// version 1 otherwise, so that the fuzzer reaches the payload decoder without having to
// guess checksums.
#include <fmt/format.h>

#include <cstring>

#include "../harness.h"
#include "damo/runtime/error.h"
#include "segment/model.h"

namespace damo::fuzz {

namespace {

std::string with_valid_header(std::string_view payload, std::uint32_t version) {
  std::string bytes = "DAMOSEGM";
  auto put = [&bytes](auto value) {
    char raw[sizeof value];
    std::memcpy(raw, &value, sizeof value);
    bytes.append(raw, sizeof value);
  };
  put(version);
  put(static_cast<std::uint64_t>(payload.size()));
  put(segment::crc32(payload));
  bytes += payload;
  return bytes;
}

}  // namespace

std::string model_reader(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return {};
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string bytes = (data[0] & 1) != 0 ? std::string(rest) : with_valid_header(rest, (data[0] & 2) != 0 ? 2 : 1);

  segment::Model model;
  try {
    model = segment::parse_model(bytes, "<fuzz>");
  } catch (const UserError& error) {
    std::string_view message = error.what();
    if (!message.starts_with("<fuzz>"))
      return fmt::format("an error without the source name: {}", message);
    return {};
  }
  if (segment::serialize_model(model) != bytes)
    return "a model that parses but does not serialize back to the same bytes";
  return {};
}

}  // namespace damo::fuzz
