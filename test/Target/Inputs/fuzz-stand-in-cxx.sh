#!/usr/bin/env bash
# A clang++ for fuzz-harness-sources.test: it compiles nothing, but fails,
# naming it, on an input file (a .cpp or an archive) or an include folder of
# the project ($FUZZ_STAND_IN_ROOT) that does not exist, as the real
# compiler would; otherwise it writes its -o.
out="" prev="" status=0
for arg in "$@"; do
  dir=""
  [[ "$arg" == -I?* ]] && dir="${arg#-I}"
  [[ "$prev" == -I || "$prev" == -isystem ]] && dir="$arg"
  if [[ -n "$dir" && "$dir" == "$FUZZ_STAND_IN_ROOT"/* && ! -d "$dir" ]]; then
    echo "stand-in-cxx: no such include folder: $dir" >&2
    status=1
  fi
  if [[ "$prev" == -o ]]; then
    out="$arg"
  elif [[ "$arg" =~ \.(cpp|cc|a)$ && ! -f "$arg" ]]; then
    echo "stand-in-cxx: no such file: $arg" >&2
    status=1
  fi
  prev="$arg"
done
[[ $status -eq 0 && -n "$out" ]] && : >"$out"
exit $status
