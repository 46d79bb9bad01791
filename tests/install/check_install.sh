#!/usr/bin/env bash
# Installs Damo from a build folder into a temporary prefix and uses the package the way a
# program outside this repository would:
#   1. the package files are in place: libdamo.a, the CMake config, damo.pc;
#   2. every installed header includes only installed damo headers, fmt headers and the
#      C++ standard library (so no LLVM or internal header reaches a user);
#   3. examples/standalone configures with find_package(Damo), builds, runs and prints
#      the fitted weights;
#   4. the same example builds with nothing but the flags of `pkg-config damo`;
#   5. an installed damo-segment trains on the tables installed with it.
# Usage: check_install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$(cd "${1:?usage: check_install.sh SOURCE_DIR BUILD_DIR}" && pwd)
build_dir=$(cd "${2:?usage: check_install.sh SOURCE_DIR BUILD_DIR}" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
export DAMO_CACHE_DIR=$work/cache

fail() {
  echo "FAILED: $1" >&2
  exit 1
}

cmake --install "$build_dir" --prefix "$prefix" >/dev/null

# 1. Package files.
library=$(find "$prefix" -name libdamo.a)
config_dir=$(dirname "$(find "$prefix" -name DamoConfig.cmake)")
pc_file=$(find "$prefix" -name damo.pc)
[[ -f $library ]] || fail "libdamo.a is not installed"
for file in DamoConfig.cmake DamoConfigVersion.cmake DamoTargets.cmake; do
  [[ -f $config_dir/$file ]] || fail "$file is not installed"
done
[[ -f $pc_file ]] || fail "damo.pc is not installed"
[[ -f $prefix/include/damo/damo.h && -f $prefix/include/damo/version.h ]] ||
  fail "damo/damo.h or damo/version.h is not installed"

# 2. Installed headers include nothing outside the package, fmt and the standard library.
std_headers=" algorithm any array atomic bit bitset cassert cctype cerrno cfloat charconv
  chrono climits cmath compare complex concepts condition_variable cstddef cstdint cstdio
  cstdlib cstring ctime deque exception filesystem fstream functional future
  initializer_list iomanip ios iosfwd iostream istream iterator limits list locale map
  memory mutex new numbers numeric optional ostream queue random ranges ratio regex set
  shared_mutex source_location span sstream stack stdexcept stop_token streambuf string
  string_view system_error thread tuple type_traits typeindex typeinfo unordered_map
  unordered_set utility variant vector version "
std_headers=$(tr -s '[:space:]' ' ' <<<"$std_headers")
header_count=0
while IFS= read -r header; do
  header_count=$((header_count + 1))
  while IFS= read -r included; do
    case $included in
      damo/*) [[ -f $prefix/include/$included ]] ||
                fail "${header#$prefix/} includes $included, which is not installed" ;;
      fmt/*) ;;
      *) [[ $std_headers == *" $included "* ]] ||
           fail "${header#$prefix/} includes $included, outside damo, fmt and the standard library" ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p' "$header")
done < <(find "$prefix/include" -type f)
[[ $header_count -gt 10 ]] || fail "only $header_count headers are installed"

# 3. A CMake project finds the package and links Damo::damo.
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$source_dir/examples/standalone" -B "$work/standalone" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/standalone" >/dev/null
result=$("$work/standalone/linear_regression" | tail -n 1)
[[ $result == "w = [3.00, -2.00], b = 0.50" ]] || fail "standalone example printed '$result'"

# 4. pkg-config alone gives the flags to compile and link the same program.
flags=$(PKG_CONFIG_PATH=$(dirname "$pc_file") pkg-config --cflags --libs damo)
# shellcheck disable=SC2086 # the flags are separate words
${CXX:-c++} -std=c++20 -O1 "$source_dir/examples/linear_regression.cpp" -o "$work/pkg_config_example" $flags
result=$("$work/pkg_config_example" | tail -n 1)
[[ $result == "w = [3.00, -2.00], b = 0.50" ]] || fail "pkg-config example printed '$result'"

# 5. The installed damo-segment runs without arguments on the tables installed with it,
# from a working directory outside the source tree.
if [[ -x $prefix/bin/damo-segment ]]; then
  [[ -f $prefix/share/damo/data/README.md ]] || fail "the shipped tables' README.md is not installed"
  report=$(cd "$work" && "$prefix/bin/damo-segment" 2>&1) || fail "installed damo-segment failed: $report"
  expected="damo-segment: $prefix/share/damo/data/wholesale_customers.csv, label 'Channel'"
  grep -qxF "$expected" <<<"$report" || fail "installed damo-segment did not train on the installed table: $report"
  demo_note="; damo-segment runs on its installed tables"
fi

echo "installed $header_count headers; the standalone example builds with CMake and pkg-config${demo_note:-}"
