#!/usr/bin/env bash
# Runs one example program and checks its exit status and what it prints.
# Usage: check_example.sh CHECK EXAMPLES_BUILD_DIR
set -euo pipefail
check=${1:?usage: check_example.sh CHECK EXAMPLES_BUILD_DIR}
bin=${2:?usage: check_example.sh CHECK EXAMPLES_BUILD_DIR}

fail() {
  echo "FAILED: $check: $1" >&2
  exit 1
}

# Prints an example's stdout; fails when it exits with another status than expected.
run() {
  local expected_status=$1
  shift
  local status=0
  out=$("$@" 2>"$stderr_file") || status=$?
  echo "$out"
  cat "$stderr_file" >&2
  [[ $status -eq $expected_status ]] || fail "$* exited with $status, expected $expected_status"
}

stderr_file=$(mktemp)
trap 'rm -f "$stderr_file"' EXIT

case $check in
  linear_regression)
    run 0 "$bin/example_linear_regression"
    [[ $(tail -n 1 <<<"$out") == "w = [3.00, -2.00], b = 0.50" ]] || fail "weights not fitted"
    ;;
  segmentation)
    run 0 "$bin/example_segmentation"
    accuracy=$(sed -n 's/^accuracy \([0-9.]*\)$/\1/p' <<<"$out")
    [[ -n $accuracy ]] || fail "no accuracy line"
    awk -v a="$accuracy" 'BEGIN { exit !(a >= 0.95) }' || fail "accuracy $accuracy below 0.95"
    ;;
  compile_expression)
    run 0 "$bin/example_compile_expression"
    [[ $out == "sum(x * x) / 2 = 15" ]] || fail "default expression"
    run 0 "$bin/example_compile_expression" "max(exp(x - 4))"
    [[ $out == "max(exp(x - 4)) = 1" ]] || fail "expression from the command line"
    ;;
  compile_expression_error)
    # A syntax error is reported with its location and a caret, and the exit status is 1.
    run 1 "$bin/example_compile_expression" "sum(x * )"
    grep -q '^error: <string>:1:9: ' "$stderr_file" || fail "no located message"
    grep -q '^ *\^$' "$stderr_file" || fail "no caret line"
    ;;
  print_gradient)
    run 0 "$bin/example_print_gradient"
    [[ $(sed -n 1p <<<"$out") == "cost     = sum(sigmoid(x @ w + b))" ]] || fail "cost line"
    grep -q '^dcost/dw = .*sigmoid' <<<"$out" || fail "gradient of w"
    grep -q '^dcost/db = .*sigmoid' <<<"$out" || fail "gradient of b"
    ;;
  *)
    fail "unknown check"
    ;;
esac
echo "$check: ok"
