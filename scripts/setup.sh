#!/usr/bin/env bash
# Sets rtml up on a Debian bookworm machine and shows it working:
#   1. installs the Debian packages that are missing (quiet when none are):
#      the toolchain, OpenBLAS (LibTorch's CPU speed), Fashion-MNIST,
#      PyYAML and matplotlib (rtml-study),
#   2. configures and builds rtml (ninja, ccache) in build/,
#   3. runs the quick study (studies/quick.yaml): compiles a small CNN,
#      trains it on Fashion-MNIST and prints the table (test accuracy, time).
#
# Usage: scripts/setup.sh [--no-demo] [--build-dir DIR]
# Environment: RTML_BUILD_DIR (default build).
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
  libopenblas0-openmp dataset-fashion-mnist python3-yaml python3-matplotlib
  chromium
  zlib1g-dev libturbojpeg0-dev libspng-dev libcli11-dev nlohmann-json3-dev
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

# --- 3. the quick study: a CNN on Fashion-MNIST ------------------------------
# Running it again skips what is finished and resumes what was interrupted.
study_out="$build/quick-study"
log "the quick study (studies/quick.yaml): Fashion-MNIST on $jobs CPU cores"
start=$SECONDS
"$build/tools/rtml-study/rtml-study" "$root/studies/quick.yaml" -o "$study_out"
log "quick study done in $((SECONDS - start)) s: $study_out/report.md, report.html, model_comparison.png"
