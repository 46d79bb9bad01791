// Helpers shared by the graph tests.
#pragma once

#include <functional>
#include <string>

#include "damo/runtime/error.h"

namespace damo::testing {

/// The message of the UserError that build throws, or "<no error>" when it throws none.
inline std::string user_error(const std::function<void()>& build) {
  try {
    build();
  } catch (const UserError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace damo::testing
