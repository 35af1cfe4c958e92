#!/usr/bin/env bash
# fuzz-harness-sources.sh ROOT WORK: builds every fuzz harness of
# scripts/fuzz.sh (and its data readers') with the stand-in compiler and
# says, per target, ok or the stand-in's complaint.
root=$1 work=$2
export CXX_FUZZ="$root/test/Target/Inputs/fuzz-stand-in-cxx.sh"
export FUZZ_STAND_IN_ROOT="$root" RTML_FUZZ_DIR="$work"
export RTML_BUILD_DIR="${RTML_BUILD_DIR:-$RTML_RUNTIME_DIR}"
rm -rf "$work" && mkdir -p "$work"
for target in spec torch-file torch-tensor mlir "data idx" "data image" \
  "data cifar"; do
  args=(build "$target")
  [[ "$target" == data* ]] && args=(data build "${target#data }")
  if err="$(bash "$root/scripts/fuzz.sh" "${args[@]}" 2>&1)"; then
    echo "$target: ok"
  else
    echo "$target: FAILED: $err"
  fi
done
