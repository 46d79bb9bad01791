// libFuzzer's entry point for the harness named by DAMO_FUZZ_HARNESS: a finding is printed
// and turned into an abort, which libFuzzer reports as a crash and saves the input of.
#include <cstdio>
#include <cstdlib>

#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string finding = damo::fuzz::DAMO_FUZZ_HARNESS(data, size);
  if (!finding.empty()) {
    std::fprintf(stderr, "damo fuzz finding: %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
