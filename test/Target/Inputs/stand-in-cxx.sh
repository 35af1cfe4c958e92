#!/usr/bin/env bash
# A C++ compiler for device-check-dry-run.test: it reads nothing, writes
# its -o (an object, or a program) and logs each call to
# $STAND_IN_CXX_LOG. A program prints its name and arguments; as a
# trainer's `bench` it also prints a JSON line of a 1.5 ms step and, with
# --profile FILE, writes FILE with one GPU kernel (none in GoogLeNet's
# graph replays) and says so as the trainer does, so that the rows built
# on those pass.
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
  exit 0
fi
cat >"$out" <<'PROGRAM'
#!/usr/bin/env bash
echo "stand-in program $(basename "$0") $*"
[[ "${1:-}" == bench ]] || exit 0
profile="" prev=""
for arg in "$@"; do
  [[ "$prev" == --profile ]] && profile="$arg"
  prev="$arg"
done
if [[ -n "$profile" ]]; then
  # GoogLeNet's graph replays show no kernel; its eager steps do.
  on=gpu
  [[ "$(basename "$0")" == googlenet && " $* " != *" --no-cuda-graph "* ]] && on=cpu
  echo "{\"ops\": [{\"name\": \"kernel\", \"on\": \"$on\", \"self_us_per_step\": 1000.0}]}" >"$profile"
  echo "profile ($profile): GPU kernels by self time per step: 1.000 ms named" >&2
fi
echo "{\"model\": \"$(basename "$0")\", \"median_ms\": 1.5}"
PROGRAM
chmod +x "$out"
