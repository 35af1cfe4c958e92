#!/bin/sh
# Builds the libFuzzer harness over the spec front end (test/fuzz/SpecFuzzer.cpp)
# with clang-19 and ASan/UBSan, and runs it.
#
#   scripts/fuzz.sh build             build build-fuzz/spec-fuzzer
#   scripts/fuzz.sh run [SECONDS]     fuzz (default 600 s) from the seed corpus
#                                     (models/, test/Driver/) into build-fuzz/corpus;
#                                     crashes land in build-fuzz/artifacts/
#   scripts/fuzz.sh repro FILE...     run the harness on FILEs once
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${RTML_FUZZ_DIR:-$root/build-fuzz}
cxx=${CXX_FUZZ:-clang++-19}
bin=$out/spec-fuzzer

build() {
  mkdir -p "$out"
  # yaml-cpp and the standard library are not instrumented; our code is.
  # The spec's op table is generated from RtmlOps.td by the CMake build
  # (RTML_BUILD_DIR, default build/): build it first.
  generated="${RTML_BUILD_DIR:-$root/build}/compiler/include"
  [ -f "$generated/rtml/Dialect/RtmlOpSchema.inc" ] || {
    echo "error: $generated/rtml/Dialect/RtmlOpSchema.inc is missing: build rtml first (scripts/setup.sh)" >&2
    exit 1
  }
  $cxx -std=c++17 -g -O1 -fexceptions -frtti \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$root/spec/include" -I"$root/spec/lib" -I"$root/lib/include" \
    -I"$generated" \
    "$root/test/fuzz/SpecFuzzer.cpp" "$root"/spec/lib/*.cpp \
    "$root/lib/src/Diagnostics.cpp" \
    -lyaml-cpp -o "$bin"
}

seed() {
  mkdir -p "$out/corpus" "$out/seeds" "$out/artifacts"
  for f in "$root"/models/*.yaml "$root"/test/Driver/*.yaml \
           "$root"/test/Driver/bad/*.yaml "$root"/test/fuzz/seeds/*.yaml \
           "$root"/test/fuzz/regressions/*.yaml; do
    [ -f "$f" ] && cp "$f" "$out/seeds/" || true
  done
}

case "${1:-run}" in
build) build ;;
run)
  [ -x "$bin" ] || build
  seed
  "$bin" -max_total_time="${2:-600}" -max_len=8192 -timeout=30 -rss_limit_mb=2048 \
    -dict="$root/test/fuzz/yaml.dict" -artifact_prefix="$out/artifacts/" \
    -print_final_stats=1 "$out/corpus" "$out/seeds"
  ;;
repro)
  [ -x "$bin" ] || build
  shift
  "$bin" "$@"
  ;;
*) echo "usage: $0 build | run [SECONDS] | repro FILE..." >&2; exit 2 ;;
esac
