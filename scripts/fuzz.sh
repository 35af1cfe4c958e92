#!/bin/sh
# Builds libFuzzer harnesses with clang-19 and ASan/UBSan, and runs them.
#
#   scripts/fuzz.sh build [TARGET]          build build-fuzz/TARGET-fuzzer
#   scripts/fuzz.sh run [TARGET] [SECONDS]  fuzz (default 600 s) from the seed
#                                           corpus into build-fuzz/corpus/TARGET;
#                                           crashes land in build-fuzz/artifacts/TARGET/
#   scripts/fuzz.sh repro [TARGET] FILE...  run the harness on FILEs once
#
#   scripts/fuzz.sh data ACTION TARGET...  the data set readers' harnesses
#                                           (test/fuzz/data/fuzz.sh: idx, image, cifar-*)
#
# TARGET (default spec):
#   spec          the YAML front end (test/fuzz/SpecFuzzer.cpp)
#   torch-file    the torch.save readers behind --weights, export and
#                 --resume (test/fuzz/TorchFileFuzzer.cpp)
#   torch-tensor  the tensor reader behind predict --input (same file,
#                 RTML_FUZZ_TENSOR)
#   mlir          rtmlc on .mlir input: parse, verify, passes, emission
#                 (test/fuzz/MlirFuzzer.cpp; needs the TableGen output of a
#                 configured build, $RTML_BUILD_DIR or build/)
# Seeds: test/fuzz/seeds/TARGET/ (and, for spec, models/ and test/Driver/;
# for mlir, the .mlir lit tests);
# every finding is kept in test/fuzz/regressions/TARGET/, which the unit
# tests run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${RTML_FUZZ_DIR:-$root/build-fuzz}
cxx=${CXX_FUZZ:-clang++-19}
command -v "$cxx" >/dev/null 2>&1 || {
  echo "error: $cxx not found: install clang-19 and libclang-rt-19-dev (apt-get install clang-19 libclang-rt-19-dev), or set CXX_FUZZ" >&2
  exit 1
}
flags="-std=c++17 -g -O1 -fexceptions -frtti -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

build() {
  mkdir -p "$out"
  case "$1" in
  spec)
    # yaml-cpp and the standard library are not instrumented; our code is.
    # The spec's op table is generated from RtmlOps.td by the CMake build
    # (RTML_BUILD_DIR, default build/): build it first.
    generated="${RTML_BUILD_DIR:-$root/build}/compiler/include"
    [ -f "$generated/rtml/Dialect/RtmlOpSchema.inc" ] || {
      echo "error: $generated/rtml/Dialect/RtmlOpSchema.inc is missing: build rtml first (scripts/setup.sh)" >&2
      exit 1
    }
    $cxx $flags \
      -I"$root/spec/include" -I"$root/spec/lib" -I"$root/lib/include" \
      -I"$generated" \
      "$root/test/fuzz/SpecFuzzer.cpp" "$root"/spec/lib/*.cpp \
      "$root"/lib/src/*.cpp \
      -lyaml-cpp -o "$out/spec-fuzzer"
    ;;
  torch-file | torch-tensor)
    # LibTorch is not instrumented; the readers and the parameter registry
    # they load into are.
    define=""
    [ "$1" = torch-tensor ] && define=-DRTML_FUZZ_TENSOR
    r=$root/runtime/lib
    # ATen's parallel header includes omp.h; clang-19's libomp is not
    # installed, so take GCC's header and libgomp (the pragmas stay off).
    mkdir -p "$out/omp"
    ln -sf "$(gcc -print-file-name=include)/omp.h" "$out/omp/omp.h"
    # vptr: LibTorch's types have no instrumented RTTI here.
    $cxx $flags -fno-sanitize=vptr $define \
      -I"$root/runtime/include" -I"$root/lib/include" -I"$r" \
      -isystem /usr/include/torch/csrc/api/include -isystem "$out/omp" \
      "$root/test/fuzz/TorchFileFuzzer.cpp" \
      "$r/PickleReader.cpp" "$r/PickleBounds.cpp" "$r/PickleFiles.cpp" \
      "$r/StateDictLoading.cpp" "$r/TorchSaveWriter.cpp" "$r/AtomicFile.cpp" \
      "$r/Parameters.cpp" "$r/SgdKernel.cpp" "$r/DeviceMap.cpp" \
      "$root"/lib/src/*.cpp \
      -ltorch_cpu -lc10 -lgomp -o "$out/$1-fuzzer"
    ;;
  mlir)
    # MLIR and LLVM are not instrumented; the dialect, passes and emitter
    # are, with LLVM's flags (no exceptions, no RTTI).
    gen=${RTML_BUILD_DIR:-$root/build}/compiler/include
    [ -f "$gen/rtml/Dialect/RtmlOps.h.inc" ] ||
      { echo "fuzz.sh: no TableGen output in $gen: run scripts/setup.sh first" >&2; exit 1; }
    c=$root/compiler/lib
    $cxx -std=c++17 -g -O1 -fno-exceptions -fno-rtti \
      -fsanitize=fuzzer,address,undefined -fno-sanitize=vptr \
      -fno-sanitize-recover=undefined \
      -isystem /usr/lib/llvm-19/include -I"$root/compiler/include" -I"$gen" \
      -I"$root/lib/include" \
      "$root/test/fuzz/MlirFuzzer.cpp" "$c"/Dialect/*.cpp "$c"/Transforms/*.cpp \
      "$c"/Target/*.cpp "$root"/lib/src/*.cpp \
      -L/usr/lib/llvm-19/lib -Wl,-rpath,/usr/lib/llvm-19/lib -lMLIR -lLLVM \
      -o "$out/mlir-fuzzer"
    ;;
  *) echo "fuzz.sh: unknown target '$1' (spec, torch-file, torch-tensor, mlir)" >&2; exit 2 ;;
  esac
}

seed() {
  target=$1
  mkdir -p "$out/corpus/$target" "$out/seeds/$target" "$out/artifacts/$target"
  if [ "$target" = spec ]; then
    for f in "$root"/models/*.yaml "$root"/test/Driver/*.yaml \
             "$root"/test/Driver/bad/*.yaml "$root"/test/fuzz/seeds/*.yaml \
             "$root"/test/fuzz/regressions/*.yaml; do
      [ -f "$f" ] && cp "$f" "$out/seeds/$target/" || true
    done
  fi
  if [ "$target" = mlir ]; then
    for f in "$root"/test/Dialect/*.mlir "$root"/test/Transforms/*.mlir \
             "$root"/test/Target/*.mlir; do
      [ -f "$f" ] && cp "$f" "$out/seeds/$target/" || true
    done
  fi
  for f in "$root/test/fuzz/seeds/$target"/* "$root/test/fuzz/regressions/$target"/*; do
    [ -f "$f" ] && cp "$f" "$out/seeds/$target/" || true
  done
}

is_target() {
  case "${1:-}" in spec | torch-file | torch-tensor | mlir) return 0 ;; esac
  return 1
}

if [ "${1:-}" = data ]; then
  shift
  exec "$root/test/fuzz/data/fuzz.sh" "$@"
fi

cmd=${1:-run}
[ $# -gt 0 ] && shift
target=spec
if is_target "${1:-}"; then target=$1; shift; fi
bin=$out/$target-fuzzer
export LSAN_OPTIONS="suppressions=$root/test/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
case "$cmd" in
build) build "$target" ;;
run)
  [ -x "$bin" ] || build "$target"
  seed "$target"
  extra=""
  case "$target" in
  spec) extra="-dict=$root/test/fuzz/yaml.dict -max_len=8192" ;;
  torch-*) extra="-dict=$root/test/fuzz/pickle.dict -max_len=65536" ;;
  mlir) extra="-max_len=16384" ;;
  esac
  # shellcheck disable=SC2086
  "$bin" -max_total_time="${1:-600}" -timeout=30 -rss_limit_mb=3072 $extra \
    -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 \
    "$out/corpus/$target" "$out/seeds/$target"
  ;;
repro)
  [ -x "$bin" ] || build "$target"
  "$bin" "$@"
  ;;
*) echo "usage: $0 build [TARGET] | run [TARGET] [SECONDS] | repro [TARGET] FILE..." >&2; exit 2 ;;
esac
