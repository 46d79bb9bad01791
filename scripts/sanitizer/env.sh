# Runtime options of the sanitizer build, sourced by scripts/test-sanitizers and scripts/fuzz.
#
# allocator_may_return_null: a failed allocation returns null, as glibc's malloc does, so
#   that Damo's "out of memory" errors can be tested instead of ASan aborting the process.
# detect_leaks: LeakSanitizer runs at exit; lsan.supp lists the leaks it may ignore.
# halt_on_error / abort_on_error: the first report fails the test or fuzzer run.
sanitizer_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$sanitizer_dir/ubsan.supp"
export LSAN_OPTIONS="suppressions=$sanitizer_dir/lsan.supp"
unset sanitizer_dir
