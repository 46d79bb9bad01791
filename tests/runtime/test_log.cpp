// Tests of the log level setting.
#include <doctest/doctest.h>

#include "damo/runtime/error.h"
#include "damo/runtime/log.h"

using namespace damo;

TEST_CASE("set_log_level accepts 0 to 3 only") {
  int saved = log_level();
  set_log_level(3);
  CHECK(log_level() == 3);
  CHECK_THROWS_WITH_AS(set_log_level(99), "set_log_level: 99 is not a level from 0 to 3",
                       UserError);
  CHECK_THROWS_AS(set_log_level(-1), UserError);
  CHECK(log_level() == 3);
  set_log_level(saved);
}

TEST_CASE("user errors cut long quoted values") {
  damo::UserError error("unknown option '" + std::string(100000, 'z') + "' for 'train'");
  CHECK(std::string(error.what()) == "unknown option '" + std::string(40, 'z') + "... (100000 characters)' for 'train'");
  CHECK(error.message() == error.what());
  // Without quotes, a message over 2,000 characters keeps its start and end.
  damo::UserError unquoted(std::string(1500, 'a') + std::string(1500, 'b'));
  std::string text = unquoted.what();
  CHECK(text.starts_with(std::string(1400, 'a') + " ... (1200 characters left out) ... "));
  CHECK(text.ends_with(std::string(400, 'b')));
}
