// Helpers of the reliability tests: the message of an expected error.
#pragma once

#include <string>

#include "damo/runtime/error.h"

namespace damo::reliability {

/// Runs fn and returns the what() of the exception of type E it throws, "no error" when it
/// throws none. Exceptions of other types pass through and fail the test.
template <class E, class Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace damo::reliability
