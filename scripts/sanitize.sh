#!/usr/bin/env bash
# Builds rtml with AddressSanitizer and UndefinedBehaviorSanitizer in its own
# build folder and runs the unit and lit suites under them. The trainers the
# tests compile (rtmlc runs CMake for each) are instrumented too: CMake takes
# their flags from the CXXFLAGS and LDFLAGS exported here. LibTorch, MLIR and
# the other system libraries are not instrumented; our code is.
#
# Usage: scripts/sanitize.sh [ctest arguments...]   e.g. -R '^(Runtime|MultiTensorSgd)'
#   (ctest's names are the tests' own, Suite.Case, not their binaries')
#   RTML_ASAN_BUILD_DIR   build folder (default: build-asan)
#   RTML_ASAN_JOBS        parallel build and test jobs (default: nproc)
#   RTML_ASAN_TARGETS     build only these targets (default: all), e.g.
#                         "RuntimeTests" (the other binaries' tests then
#                         read NOT_BUILT: select with -R as above)
#
# Slow (every translation unit is rebuilt with the sanitizers, and the tests
# run several times slower): run it niced, e.g. nice -n 10 scripts/sanitize.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RTML_ASAN_BUILD_DIR:-$root/build-asan}"
jobs="${RTML_ASAN_JOBS:-$(nproc)}"

# vptr needs RTTI of every library on the path (LibTorch's and MLIR's types
# cross it); every other UBSan check stops the test at its first report.
san="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=all"
export CFLAGS="$san -fno-omit-frame-pointer"
export CXXFLAGS="$san -fno-omit-frame-pointer"
export LDFLAGS="$san"
# LibTorch's and MLIR's process-lifetime allocations would drown real leaks:
# leak checking is off; memory errors and undefined behaviour abort.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:detect_odr_violation=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

if [[ ! -f "$build/build.ninja" ]]; then
  echo "==> configuring rtml with ASan+UBSan in $build"
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    >/dev/null
fi
echo "==> building rtml with ASan+UBSan ($jobs jobs)"
targets=()
for t in ${RTML_ASAN_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "$jobs" "${targets[@]}"
echo "==> unit and lit suites under ASan+UBSan"
cd "$build"
ctest --output-on-failure -j "$jobs" -L 'unit|lit' --timeout 3600 "$@"
