// Helpers shared by the graph tests.
#pragma once

#include <functional>
#include <string>

#include "damo/runtime/error.h"

namespace damo::testing {

/// Runs build and returns the message of the UserError it throws, or "<no error>".
inline std::string user_error(const std::function<void()>& build) {
  try {
    build();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace damo::testing
