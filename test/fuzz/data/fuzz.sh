#!/bin/sh
# Builds and runs the libFuzzer harnesses over the data set readers (clang-19,
# ASan/UBSan), as scripts/fuzz.sh does for the spec front end.
#
#   test/fuzz/data/fuzz.sh build TARGET          build build-fuzz/TARGET-fuzzer
#   test/fuzz/data/fuzz.sh run TARGET [SECONDS]  fuzz (default 600 s) from
#                test/fuzz/seeds/TARGET and test/fuzz/regressions/TARGET into
#                build-fuzz/corpus-TARGET; crashes land in build-fuzz/artifacts-TARGET/
#   test/fuzz/data/fuzz.sh repro TARGET FILE...  run the harness on FILEs once
#
# TARGET: idx, image, cifar (both CIFAR readers on each input; seeds and
# regressions in cifar-binary/ and cifar-python/). The torch-free readers
# (idx, image) build in seconds; the CIFAR ones link Debian's LibTorch
# and the runtime built in build/ (not instrumented; the readers are).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${RTML_FUZZ_DIR:-$root/build-fuzz}
build=${RTML_BUILD_DIR:-$root/build}
cxx=${CXX_FUZZ:-clang++-19}
command -v "$cxx" >/dev/null 2>&1 || {
  echo "error: $cxx not found: install clang-19 and libclang-rt-19-dev (apt-get install clang-19 libclang-rt-19-dev), or set CXX_FUZZ" >&2
  exit 1
}
action=${1:-}
target=${2:-}
bin=$out/$target-fuzzer
flags="-std=c++17 -g -O1 -fexceptions -frtti -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
inc="-I$root/runtime/include -I$root/lib/include -I$root/test/fuzz/data"
formats="$root/runtime/lib/data/DataFiles.cpp $root/runtime/lib/data/Idx.cpp"
torch="-I/usr/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=1"

build() {
  mkdir -p "$out"
  case "$target" in
  idx)
    $cxx $flags $inc "$root/test/fuzz/data/IdxFuzzer.cpp" $formats -lz -o "$bin" ;;
  image)
    $cxx $flags $inc "$root/test/fuzz/data/ImageFuzzer.cpp" $formats \
      "$root/runtime/lib/data/ImageDecode.cpp" -lz -lturbojpeg -lspng -o "$bin" ;;
  cifar)
    src=$root/test/fuzz/data/CifarFuzzer.cpp
    # The readers and the pickle machine are instrumented; the rest of the
    # runtime comes, uninstrumented, from the CMake build (RTML_BUILD_DIR).
    r=$root/runtime/lib
    $cxx $flags $inc -I"$r" $torch "$src" $formats "$r/data/Cifar.cpp" \
      "$r/PlainPickle.cpp" "$r/PickleReader.cpp" "$r/PickleBounds.cpp" \
      "$build/runtime/librtml_runtime.a" "$build/lib/librtml_support.a" \
      -ltorch -ltorch_cpu -lc10 -lgomp -lz -lturbojpeg -lspng -o "$bin" ;;
  *) echo "unknown target '$target' (idx, image, cifar)" >&2; exit 2 ;;
  esac
}

case "$action" in
build) build ;;
run)
  [ -x "$bin" ] || build
  mkdir -p "$out/corpus-$target" "$out/artifacts-$target"
  dirs="$out/corpus-$target"
  for d in "$root"/test/fuzz/seeds/$target* "$root"/test/fuzz/regressions/$target*; do
    [ -d "$d" ] && dirs="$dirs $d"
  done
  "$bin" -max_total_time="${3:-600}" -max_len=65536 -timeout=30 -rss_limit_mb=4096 \
    -artifact_prefix="$out/artifacts-$target/" -print_final_stats=1 $dirs
  ;;
repro)
  [ -x "$bin" ] || build
  shift 2
  "$bin" "$@"
  ;;
*) echo "usage: $0 build TARGET | run TARGET [SECONDS] | repro TARGET FILE..." >&2; exit 2 ;;
esac
