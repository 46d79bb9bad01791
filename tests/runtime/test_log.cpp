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
