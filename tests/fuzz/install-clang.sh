#!/usr/bin/env bash
# Installs what `make fuzz` needs beyond scripts/install-deps.sh: clang with
# its libFuzzer and sanitizer runtimes, and llvm-symbolizer for readable
# stack traces (Debian packages). `make test` does not need them, so they
# stay out of install-deps.sh.
#
# Idempotent: does nothing when clang++ already links a libFuzzer target.
set -euo pipefail

links_a_fuzzer() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local dir
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' RETURN
  printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
    'extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }' \
    > "$dir/t.cpp"
  clang++ -fsanitize=fuzzer,address,undefined "$dir/t.cpp" -o "$dir/t" \
    >/dev/null 2>&1
}

if links_a_fuzzer; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-clang: installing clang, llvm and the libFuzzer runtime" >&2
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends clang llvm
# The runtimes (libFuzzer, ASan, UBSan) are a package of their own, named
# after clang's major version (libclang-rt-14-dev on Debian bookworm).
major=$(clang++ --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
if ! links_a_fuzzer && [ -n "$major" ]; then
  $sudo apt-get install -y -q --no-install-recommends "libclang-rt-$major-dev"
fi
if ! links_a_fuzzer; then
  echo "install-clang: clang++ still cannot link a libFuzzer target" >&2
  exit 1
fi
