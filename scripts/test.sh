#!/usr/bin/env bash
# Runs the whole rtml test suite (GoogleTest and lit, through CTest) after
# installing what is missing and building: the command CI runs.
#
# Usage: scripts/test.sh [ctest arguments...]   e.g. -R lit, -L unit
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${RTML_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh" --no-demo --build-dir "$build"
cd "$build"
ctest --output-on-failure -j "$(nproc)" "$@"
