#!/usr/bin/env bash
# Checks that every ```cpp block of docs/api.md is a copy of compiled code: its lines must
# appear consecutively in tests/embed/test_api_snippets.cpp or in one of examples/*.cpp.
# Indentation and the width of runs of blanks are ignored, so clang-format may realign
# trailing comments.
# Usage: check_doc_snippets.sh SOURCE_DIR
set -euo pipefail
cd "${1:?usage: check_doc_snippets.sh SOURCE_DIR}"

awk '
  { line = $0; sub(/^[ \t]+/, "", line); sub(/[ \t]+$/, "", line); gsub(/[ \t]+/, " ", line) }

  FILENAME ~ /\.md$/ {
    if (!in_block && line ~ /^```cpp/) { in_block = 1; block = "\n"; start = FNR; next }
    if (in_block && line ~ /^```/) { in_block = 0; blocks[++count] = block; starts[count] = start; next }
    if (in_block) block = block line "\n"
    next
  }

  # The code of all sources, one line per line, each file starting after a separator line
  # so that no block matches across two files.
  FNR == 1 { code = code "\001\n" }
  { code = code line "\n" }

  END {
    if (count == 0) { print "docs/api.md: no ```cpp blocks found"; exit 1 }
    failed = 0
    for (i = 1; i <= count; ++i) {
      if (index(code, blocks[i]) == 0) {
        printf "docs/api.md:%d: this C++ block is not a copy of lines in " \
               "tests/embed/test_api_snippets.cpp or examples/*.cpp\n", starts[i]
        failed = 1
      }
    }
    if (!failed) printf "%d C++ blocks of docs/api.md match compiled code\n", count
    exit failed
  }
' docs/api.md tests/embed/test_api_snippets.cpp examples/*.cpp
