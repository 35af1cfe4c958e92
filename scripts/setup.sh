#!/usr/bin/env bash
# Sets rtml up on a Debian bookworm machine and shows it working:
#   1. installs the Debian packages that are missing (quiet when none are),
#   2. configures and builds rtml (ninja, ccache) in build/,
#   3. compiles models/alexnet.yaml into a trainer and trains it briefly on
#      a synthetic CIFAR-10-format data set that rtml-data generates.
#
# Usage: scripts/setup.sh [--no-demo] [--build-dir DIR]
# Environment: RTML_BUILD_DIR (default build), RTML_DEMO_STEPS (default 20).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RTML_BUILD_DIR:-$root/build}"
demo=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-demo) demo=0 ;;
    --build-dir) build="$2"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# --- 1. packages -------------------------------------------------------------
packages=(
  cmake ninja-build ccache g++ python3
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libzstd-dev  # static LLVMSupport, which rtml-tblgen links
  libtorch-dev libgloo-dev libyaml-cpp-dev libgtest-dev
  python3-torch python3-torchvision
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. build ----------------------------------------------------------------
# Clones in other directories share the compiler cache.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
jobs="$(nproc)"
if [[ ! -f "$build/build.ninja" ]]; then
  log "configuring rtml in $build"
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
log "building rtml ($jobs jobs)"
cmake --build "$build" -j "$jobs"

[[ $demo -eq 1 ]] || exit 0

# --- 3. demo: compile AlexNet and train it briefly ---------------------------
demo_dir="$build/demo"
steps="${RTML_DEMO_STEPS:-20}"
log "generating a synthetic CIFAR-10-format data set in $demo_dir/data"
"$build/tools/rtml-data/rtml-data" synth --out "$demo_dir/data" \
  --train 5000 --test 1000 --seed 1

log "compiling models/alexnet.yaml"
"$build/tools/rtmlc/rtmlc" "$root/models/alexnet.yaml" --emit=summary | tail -n 1
trainer="$("$build/tools/rtmlc/rtmlc" "$root/models/alexnet.yaml" \
  -o "$demo_dir/alexnet" | tail -n 1)"

log "training AlexNet for $steps steps of 16 images (224x224, CPU)"
"$trainer" train --data "$demo_dir/data" --out "$demo_dir/run" \
  --epochs 1 --batch-size 16 --max-steps "$steps" --limit-test 160

log "done: trainer $trainer, run folder $demo_dir/run"
cat "$demo_dir/run/summary.json"
