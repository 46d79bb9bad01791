// The rule tables of the simplify pass.
#pragma once

#include <vector>

#include "pattern.h"

namespace damo::detail {

/// Rules exact for every input, NaN, infinities and signed zeros included.
std::vector<pattern::Rule> exact_simplify_rules();

/// Rules that hold for finite values only; they run under fast-math.
std::vector<pattern::Rule> fast_math_simplify_rules();

}  // namespace damo::detail
