#!/usr/bin/env bash
# The GPU check of rtml, in two halves.
#
# On the development machine (has MLIR and yaml-cpp):
#   scripts/device-check.sh --prepare
#     emits the trainers' C++ source and a synthetic data set into
#     out/device/ (git-ignored; carry it to the GPU machine with the tree).
#
# On a machine with an NVIDIA GPU and PyTorch 2.x (no network, no MLIR):
#   scripts/device-check.sh
#     builds the runtime and the emitted trainers against the LibTorch inside
#     that PyTorch (CUDA on), runs the checks that use the GPU (every runtime
#     op on CUDA against the CPU, AlexNet predictions against PyTorch on the
#     GPU, a short training run), times AlexNet's training step against
#     PyTorch eager on the same GPU, and prints a table last.
#
# Environment: PYTHON (default python3), JOBS (default nproc),
#              BENCH_BATCH (default 128), BENCH_STEPS (default 20).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
staging="$root/out/device"
python="${PYTHON:-python3}"
jobs="${JOBS:-$(nproc)}"
batch="${BENCH_BATCH:-128}"
steps="${BENCH_STEPS:-20}"

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  build="${RTML_BUILD_DIR:-$root/build}"
  rm -rf "$staging" && mkdir -p "$staging"
  "$build/tools/rtmlc/rtmlc" "$root/models/alexnet.yaml" --no-build \
    -o "$staging/alexnet" >/dev/null
  "$build/tools/rtmlc/rtmlc" "$root/test/E2E/Inputs/small_cnn.yaml" \
    --no-build -o "$staging/small_cnn" >/dev/null
  "$build/tools/rtml-data/rtml-data" synth --out "$staging/data" \
    --train 5000 --test 1000 --seed 5
  echo "prepared $staging ($(du -sh "$staging" | cut -f1))"
  exit 0
fi

work="$root/build-device"
mkdir -p "$work"
declare -a rows=()
status=0
row() { rows+=("$1|$2"); }
section() { printf '\n==> %s\n' "$*"; }

[[ -f "$staging/alexnet/model.cpp" ]] || {
  echo "error: $staging is missing; run 'scripts/device-check.sh --prepare' on the development machine and carry out/device" >&2
  exit 1
}

section "environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
torch_info="$("$python" - <<'PY'
import torch, os
print(os.path.dirname(torch.__file__))
print(torch.__version__)
print(int(torch._C._GLIBCXX_USE_CXX11_ABI))
print(torch.cuda.is_available())
PY
)" || { echo "error: $python cannot import torch" >&2; exit 1; }
torch_dir="$(sed -n 1p <<<"$torch_info")"
torch_version="$(sed -n 2p <<<"$torch_info")"
cxx11_abi="$(sed -n 3p <<<"$torch_info")"
echo "PyTorch $torch_version at $torch_dir, CUDA available: $(sed -n 4p <<<"$torch_info")"
cxx="${CXX:-$(command -v g++ || command -v c++ || command -v clang++)}"
[[ -n "$cxx" ]] || { echo "error: no C++ compiler" >&2; exit 1; }
echo "compiler: $($cxx --version | head -n 1)"

# LibTorch from the wheel is used directly (its CMake config wants a CUDA
# toolkit that a GPU machine need not have). --no-as-needed keeps
# libtorch_cuda linked: nothing names its symbols, but it registers CUDA.
cxxflags=(-O2 -std=c++17 -fPIC -D_GLIBCXX_USE_CXX11_ABI="$cxx11_abi"
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include"
  -I"$root/runtime/include" -I"$root/lib/include" -w)
ldflags=(-L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed
  -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 -lpthread)

section "building the runtime against PyTorch $torch_version ($jobs jobs)"
start=$SECONDS
sources=("$root"/runtime/lib/*.cpp "$root"/lib/src/*.cpp)
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} sh -c \
  'f="{}"; o="'"$work"'/$(basename "$f" .cpp).o"; '"$cxx"' '"${cxxflags[*]}"' -c "$f" -o "$o" || { echo "FAILED: $f" >&2; exit 255; }'
if [[ $? -ne 0 ]]; then echo "error: runtime build failed" >&2; exit 1; fi
rm -f "$work/librtml_runtime.a"
ar rcs "$work/librtml_runtime.a" "$work"/*.o
row "runtime build (LibTorch $torch_version, CUDA)" "ok in $((SECONDS - start)) s"

build_exe() { # NAME SOURCE
  "$cxx" "${cxxflags[@]}" "$2" -o "$work/$1" "$work/librtml_runtime.a" "${ldflags[@]}"
}
section "building the emitted trainers and the device op check"
start=$SECONDS
build_exe alexnet "$staging/alexnet/model.cpp" &
build_exe small_cnn "$staging/small_cnn/model.cpp" &
build_exe device-ops-check "$root/test/device/DeviceOpsCheck.cpp" &
wait -n && wait -n && wait -n || true
for exe in alexnet small_cnn device-ops-check; do
  [[ -x "$work/$exe" ]] || { echo "error: building $exe failed" >&2; exit 1; }
done
row "trainers built from emitted source" "ok in $((SECONDS - start)) s"

section "runtime ops on CUDA against the CPU (forward and gradients)"
if "$work/device-ops-check" | tee "$work/ops.txt"; then
  row "ops on CUDA vs CPU" "$(tail -n 1 "$work/ops.txt")"
else
  row "ops on CUDA vs CPU" "FAILED: $(grep -c FAIL "$work/ops.txt") cases"; status=1
fi

section "AlexNet predict on CUDA against PyTorch on CUDA"
mkdir -p "$work/predict"
if "$python" - "$work/predict" <<PY
import sys, torch
sys.path.insert(0, "$root/bench")
from reference_models import AlexNet
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
torch.manual_seed(0)
model = AlexNet().eval()
x = torch.randn(8, 3, 224, 224)
# The state dict as users save it (an OrderedDict), of CPU tensors.
torch.save(model.state_dict(), sys.argv[1] + "/weights.pt")
with torch.no_grad():
    y = model.cuda()(x.cuda()).cpu()
torch.save(x, sys.argv[1] + "/input.pt")
torch.save(y, sys.argv[1] + "/expected.pt")
PY
then
  if "$work/alexnet" predict --device cuda --weights "$work/predict/weights.pt" \
      --input "$work/predict/input.pt" --output "$work/predict/actual.pt"; then
    diff="$("$python" -c "import torch,sys; e=torch.load(sys.argv[1]); a=torch.load(sys.argv[2]); print(f'{(e-a).abs().max().item():.2e}')" "$work/predict/expected.pt" "$work/predict/actual.pt")"
    verdict="PASS"
    "$python" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1e-3 else 1)" "$diff" || { verdict="FAIL"; status=1; }
    row "AlexNet predict, cuda vs PyTorch cuda" "$verdict: max abs diff $diff (batch 8)"
  else
    row "AlexNet predict, cuda vs PyTorch cuda" "FAILED to run"; status=1
  fi
else
  row "AlexNet predict, cuda vs PyTorch cuda" "FAILED: reference export"; status=1
fi

section "training the small CNN on the GPU (synthetic data, 3 epochs)"
if "$work/small_cnn" train --device cuda --data "$staging/data" \
    --out "$work/run-small" --no-progress; then
  acc="$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_test_accuracy'])" "$work/run-small/summary.json")"
  verdict="PASS"
  "$python" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.6 else 1)" "$acc" || { verdict="FAIL"; status=1; }
  row "small CNN trained on cuda" "$verdict: best test accuracy $acc"
else
  row "small CNN trained on cuda" "FAILED to run"; status=1
fi

section "AlexNet training step on the GPU: rtml against PyTorch eager (batch $batch)"
"$work/alexnet" bench --device cuda --batch-size "$batch" --steps "$steps" \
  --warmup 5 --json | tee "$work/bench-rtml.txt"
"$python" "$root/bench/alexnet_eager.py" --device cuda --batch-size "$batch" \
  --steps "$steps" --warmup 5 --json | tee "$work/bench-torch.txt"
"$work/alexnet" bench --device cuda --batch-size "$batch" --steps "$steps" \
  --warmup 5 --json | tee -a "$work/bench-rtml.txt"
"$python" "$root/bench/alexnet_eager.py" --device cuda --batch-size "$batch" \
  --steps "$steps" --warmup 5 --json | tee -a "$work/bench-torch.txt"
bench_row="$("$python" - "$work/bench-rtml.txt" "$work/bench-torch.txt" <<'PY'
import json, sys
def best(path):
    values = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            values.append(json.loads(line)["mean_ms"])
    return min(values)
r, t = best(sys.argv[1]), best(sys.argv[2])
print(f"rtml {r:.1f} ms, PyTorch eager {t:.1f} ms, ratio {t / r:.2f}x")
PY
)" || bench_row="FAILED"
row "AlexNet train step, batch $batch, cuda" "$bench_row"

section "summary"
printf '| %-45s | %s\n' "check" "result"
printf '|%s|%s\n' "-----------------------------------------------" "---------"
for r in "${rows[@]}"; do
  printf '| %-45s | %s\n' "${r%%|*}" "${r#*|}"
done
exit $status
