#!/usr/bin/env bash
# device-check-dry-run.test's driver: scripts/device-check.sh's GPU half,
# called four times on the same build folder as a GPU session may call it
# (DEVICE_CHECK_ONLY=peer-bench,profile under a DEVICE_CHECK_DEADLINE, then
# two checks by name, then every check, twice), on a
# stand-in staging and with Inputs/stand-in-cxx.sh for a compiler. Prints
# each call's exit status, its summary rows and how many compiler calls it
# made.
# Usage: device-check-dry-run.sh RTML_SOURCE_DIR DIR PYTHON
set -u
src="$1" dir="$2" python="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rm -rf "$dir" && mkdir -p "$dir"
# Only the files the GPU half looks for itself: the stand-in compiler reads
# none of its inputs.
staging="$dir/staging"
mkdir -p "$staging"/{alexnet,kernels,cuda/lib,third-party/include/nlohmann,third-party/include/CLI,third-party/lib}
touch "$staging/alexnet/model.cpp" "$staging/cuda/lib/libcudart.so.13"
for f in zlib.h turbojpeg.h spng.h nlohmann/json.hpp CLI/CLI.hpp; do
  touch "$staging/third-party/include/$f"
done
for f in libz.so.1 libturbojpeg.so.0 libspng.so.0; do
  touch "$staging/third-party/lib/$f"
done
# The runtime's own kernels (every runtime/lib/*.cu) and the kernel check.
for f in "$src"/runtime/lib/*.cu DeviceKernelsCheck; do
  touch "$staging/kernels/$(basename "$f" .cu).o"
done
printf '%s\tmodels/%s.yaml\t\n' alexnet alexnet googlenet googlenet >"$staging/peer-bench.trainers"
# The peer benchmark runs its CPU dry run on AlexNet's default trainer, so
# that its rows come from a JSON line.
cat >"$staging/peer-bench.json" <<'JSON'
{"format": 1, "rtmlc_has_precision": true, "models": {"alexnet": {
  "spec": "models/alexnet.yaml", "macs_per_image": 710133440,
  "trainers": {"rtml": {"name": "alexnet", "rtmlc_flags": []},
    "rtml-fp32": {"name": "alexnet_fp32", "rtmlc_flags": ["--precision", "fp32"]},
    "rtml-tf32": {"name": "alexnet_tf32", "rtmlc_flags": ["--precision", "tf32"]},
    "rtml-bf16": {"name": "alexnet_bf16", "rtmlc_flags": ["--precision", "bf16"]}}}}}
JSON
only=(peer-bench,profile graph,kernels-bf16 "" "")
deadline=(300 "" "" "")
for call in 1 2 3 4; do
  export STAND_IN_CXX_LOG="$dir/cxx-calls.$call"
  : >"$STAND_IN_CXX_LOG"
  DEVICE_CHECK_ONLY="${only[call - 1]}" DEVICE_CHECK_DEADLINE="${deadline[call - 1]}" \
    DEVICE_CHECK_STAGING="$staging" DEVICE_CHECK_WORK="$dir/work" \
    DEVICE_CHECK_OUT="$dir/out.$call" CXX="$here/stand-in-cxx.sh" \
    PEER_BENCH_ARGS="--dry-run --model alexnet --variants rtml --rounds 1" \
    PYTHON="$python" JOBS=2 timeout 300 bash "$src/scripts/device-check.sh" \
    >"$dir/log.$call" 2>&1
  echo "call $call: exit $?, $(wc -l <"$STAND_IN_CXX_LOG") compiler calls"
  grep -h -e "device-check.sh: line" -e "^deadline " "$dir/log.$call"
  cat "$dir/out.$call/summary.md"
done
