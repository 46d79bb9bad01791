// The error for a mistake on damo-segment's command line.
#pragma once

#include <string>

#include "damo/runtime/error.h"

namespace segment {

/// A mistake on the command line, such as an option that names a column the table lacks.
/// The program prints it with a pointer to --help and exits with status 2.
class UsageError : public damo::UserError {
 public:
  explicit UsageError(const std::string& message) : damo::UserError(message) {}
};

}  // namespace segment
