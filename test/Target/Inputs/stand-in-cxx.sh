#!/usr/bin/env bash
# A C++ compiler for device-check-dry-run.test: it reads nothing, writes
# its -o (an object, or a program that prints its name and arguments and
# exits 0), and logs each call to $STAND_IN_CXX_LOG.
[[ "${1:-}" == --version ]] && { echo "stand-in-cxx 1"; exit 0; }
echo "$*" >>"${STAND_IN_CXX_LOG:-/dev/null}"
out="" prev=""
for arg in "$@"; do
  [[ "$prev" == -o ]] && out="$arg"
  prev="$arg"
done
[[ -n "$out" ]] || exit 0
if [[ "$out" == *.o ]]; then
  echo "stand-in object" >"$out"
else
  printf '#!/bin/sh\necho "stand-in program $(basename "$0") $*"\n' >"$out"
  chmod +x "$out"
fi
