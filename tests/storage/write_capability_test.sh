#!/usr/bin/env bash
# The write capability is a compile-time fact (DESIGN.md §1.4): only the
# friends of storage::committer_key (the node bootstrap, a benchmark's scratch
# database, the test door) can open a database for writing. This test
# compiles small files that try otherwise and requires the compiler to refuse
# each one for that reason, plus one control that must compile (so a refusal
# is never a broken include path).
#
# usage: write_capability_test.sh CXX SOURCE_DIR
set -euo pipefail

cxx=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(-std=c++20 -fsyntax-only -DCAF_ENABLE_TYPE_ID_CHECKS -I"$root")
failures=0

# compile NAME EXTRA_FLAGS... < SOURCE: the compiler's exit code; its output
# in $tmp/NAME.log.
compile() {
  local name=$1
  shift
  cat >"$tmp/$name.cpp"
  local rc=0
  "$cxx" "${flags[@]}" "$@" "$tmp/$name.cpp" >"$tmp/$name.log" 2>&1 || rc=$?
  return "$rc"
}

# refused NAME PATTERN EXTRA_FLAGS... < SOURCE: passes when the file does not
# compile and the compiler says PATTERN (an extended regex).
refused() {
  local name=$1 pattern=$2
  shift 2
  if compile "$name" "$@"; then
    echo "FAIL $name: compiled, but must be refused" >&2
    failures=$((failures + 1))
  elif ! grep -Eq "$pattern" "$tmp/$name.log"; then
    echo "FAIL $name: refused, but not for the expected reason ($pattern):" >&2
    cat "$tmp/$name.log" >&2
    failures=$((failures + 1))
  else
    echo "ok   $name: refused"
  fi
}

# A runtime/ file that makes its own key.
# gcc: "'...committer_key::committer_key()' is private within this context";
# clang: "calling a private constructor of class '...committer_key'".
refused key_outside_its_friends \
  "committer_key::committer_key\(\).{1,3} is private within this context|private constructor of class .{1,3}omniva::storage::committer_key" <<'CPP'
#include "storage/commit.hpp"

namespace omniva::runtime {

auto open_for_writing(const std::string& path) {
  return storage::open_database(storage::committer_key{}, path);
}

} // namespace omniva::runtime
CPP

# A runtime/ file that asks without a key.
# gcc: "could not convert 'path' from ... to 'omniva::storage::committer_key'";
# clang: "too few arguments to function call" (the one call: open_database).
refused open_without_a_key \
  "could not convert .* to .{1,3}omniva::storage::committer_key|too few arguments to function call" <<'CPP'
#include "storage/commit.hpp"

namespace omniva::runtime {

auto open_for_writing(const std::string& path) {
  return storage::open_database(path);
}

} // namespace omniva::runtime
CPP

# A runtime/ file that goes through the test door.
door='#include "storage/testing/committer_door.hpp"

namespace omniva::runtime {

auto open_for_writing(const std::string& path) {
  return storage::testing::committer_door::open(path);
}

} // namespace omniva::runtime'
refused test_door_outside_tests "is for test targets only" <<<"$door"

# The control: the same door compiles in a test target.
if compile test_door_in_a_test -DOMNIVA_TESTING <<<"$door"; then
  echo "ok   test_door_in_a_test: compiles"
else
  echo "FAIL test_door_in_a_test: must compile:" >&2
  cat "$tmp/test_door_in_a_test.log" >&2
  failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
