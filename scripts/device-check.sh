#!/usr/bin/env bash
# The GPU check of rtml, in two halves.
#
# On the development machine (has MLIR and yaml-cpp):
#   scripts/device-check.sh --prepare
#     emits the trainers' C++ source (also those of the peer benchmark, listed
#     with the models' MACs in out/device/peer-bench.json) and a synthetic
#     data set into out/device/ (git-ignored), archived as
#     out/device.tar.xz (carry that to the GPU machine with the tree: a call
#     takes 64 MiB, and the folder is more; the GPU half unpacks it),
#     and compiles the CUDA parts with nvcc there (out/device/kernels/*.o):
#     the GPU machine may have no CUDA toolkit, only PyTorch's wheels. The
#     few CUDA runtime headers that c10/cuda includes and libcudart go along
#     (out/device/cuda/) in case the wheels lack them, and so do the
#     other libraries the runtime includes and links (out/device/third-party/:
#     see third_party_headers).
#   scripts/device-check.sh --check-staging [FILE...]
#     fails if the runtime (or FILE) includes a header of a library that
#     --prepare does not stage (run by the suite: test/Target/).
#
# On a machine with an NVIDIA GPU and PyTorch 2.x (no network, no MLIR):
#   scripts/device-check.sh
#     builds the runtime and the emitted trainers against the LibTorch inside
#     that PyTorch (CUDA on), runs the checks that use the GPU (every runtime
#     op, the multi-tensor SGD and the fused preprocessing kernel on CUDA
#     against the CPU, rtml's CUDA kernels (LRN, ReLU+LRN, fused concat
#     with ReLU / batch norm + ReLU) against their CPU twins, AlexNet predictions against PyTorch on the
#     GPU, a short training run, the CUDA-graph step against the eager one
#     (DEVICE_CHECK_ONLY=graph), the bf16 kernel variants against their CPU
#     twins), times the fused ReLU+LRN kernel against PyTorch's relu + LRN
#     (fp32, and bf16 against PyTorch under bf16 autocast:
#     DEVICE_CHECK_ONLY=kernels-bf16) and
#     AlexNet's training step against PyTorch eager on the same GPU,
#     profiles the default (bf16) AlexNet and GoogLeNet trainers' steps
#     (bench --profile: DEVICE_CHECK_ONLY=profile, files profile-*.json), and
#     prints a table last. A failed section is reported and the rest run.
#     First of all (the card's numbers are the scarcest) it runs the peer
#     benchmark, bench/step_bench.py --peer: AlexNet-LRN, GoogLeNet and
#     googlenet_bn, rtml in each precision rtmlc offers against PyTorch
#     eager, eager tuned and torch.compile, the whole table printed (about 6
#     minutes; alone: DEVICE_CHECK_ONLY=peer-bench scripts/device-check.sh).
#     A session's first call (each is limited to 10 minutes) is
#     DEVICE_CHECK_DEADLINE=560 DEVICE_CHECK_ONLY=peer-bench,profile (with
#     a 590 s limit): the table, then where the bf16 steps' time goes, ending
#     with its summary before the limit; what device time is left goes to
#     DEVICE_CHECK_SKIP=peer-bench,profile, or, where a session's 15
#     minutes leave only a few, the checks most worth them by name:
#     DEVICE_CHECK_ONLY=kernels-bf16,graph,ops,epilogue-bench (the bf16
#     ReLU+LRN against PyTorch's autocast and the bf16 kernels against their
#     twins; the CUDA-graph step against the eager one; every op on CUDA,
#     the bias + ReLU epilogue among them; GoogLeNet's step with the bias
#     epilogue against without it).
#     On a machine still warm from the first call, the second reuses the
#     runtime and the trainers in build-device/ where nothing they are built
#     from changed (the summary's build rows say "reused").
#
# Environment: PYTHON (default python3), JOBS (default nproc),
#              BENCH_BATCH (default 128), BENCH_STEPS (default 20),
#              NVCC (--prepare; default nvcc on PATH, else /usr/local/cuda),
#              DEVICE_CHECK_ONLY (e.g. towers-bench,dp: only those checks; names
#              in the 'if wants' lines below),
#              DEVICE_CHECK_SKIP (e.g. peer-bench: every check but those; a
#              session that ran the peer benchmark alone runs the rest so),
#              PEER_BENCH_ARGS (more bench/step_bench.py flags for peer-bench,
#              e.g. "--rounds 2 --time-budget 300 --model alexnet"),
#              DEVICE_CHECK_OUT (default $OUT): a folder for the results as
#              they come: device-check.log (all output), summary.md (the
#              table's rows), peer-bench.jsonl and profile-MODEL.json,
#              DEVICE_CHECK_DEADLINE (seconds from the start; e.g. a remote
#              call's time limit less a margin): the peer benchmark's time
#              budget shrinks, and the profiles' time limits, so that the
#              call ends with its summary before it is stopped,
#              DEVICE_CHECK_STAGING (default out/device) and DEVICE_CHECK_WORK
#              (the GPU half's build folder, default build-device): the
#              suite runs the GPU half's own logic in folders of its own
#              (test/Target/device-check-dry-run.test).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
staging="${DEVICE_CHECK_STAGING:-$root/out/device}"
# What a GPU call carries in place of the staging (--prepare writes it), and
# the most that a call takes with the working tree.
archive="$staging.tar.xz"
carry_limit_bytes=$((64 * 1024 * 1024))
python="${PYTHON:-python3}"
jobs="${JOBS:-$(nproc)}"
batch="${BENCH_BATCH:-128}"
steps="${BENCH_STEPS:-20}"

# nvcc_compile SOURCE.cu OBJECT [nvcc flags...]: one relocatable object with
# SASS for sm_80 (A100) and sm_90 (H100/H200) and PTX for later GPUs, whose
# host code g++ can link on the GPU machine against the wheel's libcudart.
nvcc_compile() {
  local src="$1" obj="$2"
  shift 2
  mkdir -p "$(dirname "$obj")"
  "$nvcc" -std=c++17 -O3 -Xcompiler -fPIC \
    -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 \
    -I"$root/runtime/include" "$@" -c "$src" -o "$obj" || {
    echo "error: nvcc failed on $src" >&2
    return 1
  }
}

# stage_cuda_support: the CUDA runtime headers that LibTorch's c10/cuda
# headers include, and libcudart, under $staging/cuda (a few MB).
stage_cuda_support() {
  local cuda_home probe
  cuda_home="$(cd "$(dirname "$nvcc")/.." && pwd)"
  mkdir -p "$staging/cuda/include" "$staging/cuda/lib"
  probe="$(mktemp --suffix=.cpp)"
  printf '#include <cuda.h>\n#include <cuda_runtime.h>\n#include <cuda_runtime_api.h>\n' >"$probe"
  g++ -M -I"$cuda_home/include" "$probe" | tr ' \\' '\n\n' |
    grep "^$cuda_home/include/" | sort -u | while read -r header; do
    rel="${header#"$cuda_home/include/"}"
    mkdir -p "$staging/cuda/include/$(dirname "$rel")"
    cp "$header" "$staging/cuda/include/$rel"
  done
  rm -f "$probe"
  cp -L "$cuda_home"/lib64/libcudart.so.[0-9]* "$staging/cuda/lib/" 2>/dev/null ||
    cp -L "$cuda_home"/targets/*/lib/libcudart.so.[0-9]* "$staging/cuda/lib/"
}

# The libraries besides LibTorch, CUDA and the C/C++ standard library that
# the runtime includes (the data readers' codecs, the trainer's JSON and
# CLI), and the shared objects of those that are not header-only: the GPU
# machine's image has PyTorch's wheels only, so --prepare stages them from
# here. --check-staging fails on an include that this list misses.
third_party_headers=(zlib.h turbojpeg.h spng.h nlohmann/json.hpp CLI/CLI.hpp)
third_party_libs=(libz.so.1 libturbojpeg.so.0 libspng.so.0)
# Debian packages whose headers a GPU machine has in its own form: the C and
# C++ standard libraries (its compiler's) and LibTorch (the wheel's).
base_header_owners='^(libc6-dev|linux-libc-dev|libstdc\+\+-[0-9]+-dev|libgcc-[0-9]+-dev|libtorch-dev)$'

# header_owners FILE...: "PACKAGE<TAB>FILE" per header, from dpkg; a file
# that two packages share gets the first.
header_owners() {
  dpkg -S "$@" 2>/dev/null | sed -E 's/^([^:,]+).*: (\/[^ ]*)$/\1\t\2/'
}

# outside_base: the header_owners lines whose package is not a base one.
outside_base() {
  awk -F'\t' -v base="$base_header_owners" '$1 !~ base'
}

# third_party_closure: the third-party headers and every header they
# include outside the base packages; one path per line.
third_party_closure() {
  local probe deps
  probe="$(mktemp --suffix=.cpp)"
  printf '#include <%s>\n' "${third_party_headers[@]}" >"$probe"
  mapfile -t deps < <(g++ -std=c++17 -M "$probe" | tr ' \\' '\n\n' |
    grep '^/usr/include/' | sort -u)
  rm -f "$probe"
  header_owners "${deps[@]}" | outside_base | cut -f2 | sort -u
}

# stage_third_party: those headers and shared objects under
# $staging/third-party (include/ keeps their include paths; a few MB).
stage_third_party() {
  local header rel lib path
  mkdir -p "$staging/third-party/include" "$staging/third-party/lib"
  for header in "${third_party_headers[@]}"; do
    echo "#include <$header>" | g++ -std=c++17 -fsyntax-only -x c++ - || {
      echo "error: <$header> not found (scripts/setup.sh installs it)" >&2
      return 1
    }
  done
  while read -r header; do
    rel="${header#/usr/include/}"
    rel="${rel#"$(gcc -print-multiarch)"/}"
    mkdir -p "$staging/third-party/include/$(dirname "$rel")"
    cp -L "$header" "$staging/third-party/include/$rel"
  done < <(third_party_closure)
  for lib in "${third_party_libs[@]}"; do
    # (awk reads to the end: one that exits early would kill ldconfig with
    # SIGPIPE, and pipefail would end --prepare with nothing said.)
    path="$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found {found = $NF} END {print found}')"
    [[ -n "$path" ]] || { echo "error: $lib not found" >&2; return 1; }
    cp -L "$path" "$staging/third-party/lib/$lib"
  done
}

# --check-staging [FILE...]: every <...> include of the sources that the GPU
# half compiles (and of the FILEs), resolved on this machine's include path,
# is the C/C++ standard library's, LibTorch's, CUDA's or in
# third_party_closure; otherwise the GPU machine's build would fail on it.
if [[ "${1:-}" == "--check-staging" ]]; then
  shift
  command -v dpkg >/dev/null || { echo "error: --check-staging needs dpkg (Debian)" >&2; exit 1; }
  mapfile -t sources < <(find "$root/runtime" "$root/lib" "$root/test/device" \
    -path "$root/test/device/cuda-stub" -prune -o \
    \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' \) -print | sort)
  sources+=("$@")
  mapfile -t search_dirs < <(printf '%s\n' "$root/runtime/include" \
    "$root/runtime/lib" "$root/lib/include" /usr/include/torch/csrc/api/include
    g++ -std=c++17 -xc++ -E -v - </dev/null 2>&1 |
      sed -n '/^#include <...> search starts here:/,/^End of search list/p' |
      sed -n 's/^ //p')
  declare -A staged=()
  while read -r header; do staged["$header"]=1; done < <(third_party_closure)
  missing=0 resolved=()
  while read -r include; do
    path=""
    for dir in "${search_dirs[@]}"; do
      [[ -f "$dir/$include" ]] && { path="$dir/$include"; break; }
    done
    if [[ -z "$path" ]]; then
      # CUDA's headers come from the wheel or from --prepare's staged copy.
      [[ "$include" =~ ^(cuda[a-z_0-9]*\.h|(c10|ATen)/cuda/.*)$ ]] && continue
      echo "error: <$include> is included but not found on this machine" >&2
      missing=1
    elif [[ "$path" == /usr/include/* ]]; then
      resolved+=("$path")
    fi
  done < <(sed -nE 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]+)>.*/\1/p' \
    "${sources[@]}" | sort -u)
  third_party_includes=0
  while IFS=$'\t' read -r owner path; do
    third_party_includes=$((third_party_includes + 1))
    [[ -n "${staged[$path]:-}" ]] && continue
    echo "error: <${path#/usr/include/}> (Debian package $owner) is not staged for the GPU machine: add it to third_party_headers in scripts/device-check.sh" >&2
    missing=1
  done < <(header_owners "${resolved[@]}" | outside_base)
  [[ $missing -eq 0 ]] || exit 1
  echo "ok: ${#sources[@]} sources; their ${third_party_includes} third-party includes are staged (${#staged[@]} headers)"
  exit 0
fi

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  trap 'echo "error: --prepare failed (line $LINENO: $BASH_COMMAND)" >&2' ERR
  build="${RTML_BUILD_DIR:-$root/build}"
  nvcc="${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
  [[ -x "$nvcc" ]] || { echo "error: nvcc not found (set NVCC)" >&2; exit 1; }
  rm -rf "$staging" && mkdir -p "$staging"
  # The trainers' source, and their CUDA kernels compiled here: the GPU
  # machine may have no CUDA toolkit.
  emit() { # NAME SPEC [rtmlc flags...]
    local name="$1" spec="$2"
    shift 2
    "$build/tools/rtmlc/rtmlc" "$spec" --no-build -o "$staging/$name" "$@" >/dev/null
    nvcc_compile "$staging/$name/kernels.cu" "$staging/$name/kernels_cuda.o" \
      -I"$staging/$name"
  }
  emit alexnet "$root/models/alexnet.yaml"
  emit alexnet_nofuse "$root/models/alexnet.yaml" --no-fuse
  emit small_cnn "$root/test/E2E/Inputs/small_cnn.yaml"
  emit small_towers "$root/test/E2E/Inputs/small_towers.yaml"
  emit mini_googlenet "$root/test/E2E/Inputs/mini_googlenet.yaml"
  # fp32 twins (on CUDA the default is bf16) for the checks that compare
  # numbers with PyTorch's fp32, with the CPU or across processes.
  emit alexnet_fp32 "$root/models/alexnet.yaml" --precision fp32
  emit small_cnn_fp32 "$root/test/E2E/Inputs/small_cnn.yaml" --precision fp32
  emit small_towers_fp32 "$root/test/E2E/Inputs/small_towers.yaml" --precision fp32
  emit mini_googlenet_fp32 "$root/test/E2E/Inputs/mini_googlenet.yaml" --precision fp32
  emit alexnet_towers "$root/models/alexnet_towers.yaml"
  # GoogLeNet's default (bf16) trainer without the bias epilogue, for the
  # epilogue's A/B; the default one is the peer benchmark's.
  emit googlenet_no_epilogue "$root/models/googlenet.yaml" \
    --disable-pass=rtml-bias-epilogue
  emit dp_cnn "$root/test/E2E/Inputs/dp_cnn.yaml"
  # The peer benchmark's manifest (its trainers: a model's default one and
  # one per precision rtmlc offers; the models' MACs, for the compute floor:
  # there is no rtmlc on the GPU machine) and those trainers' source. A
  # trainer of the same name was emitted above with the same flags.
  python3 "$root/bench/step_bench.py" --peer --rtmlc "$build/tools/rtmlc/rtmlc" \
    --write-manifest "$staging/peer-bench.json" >"$staging/peer-bench.trainers"
  while IFS=$'\t' read -r name spec flags; do
    [[ -f "$staging/$name/model.cpp" ]] && continue
    # shellcheck disable=SC2086
    emit "$name" "$root/$spec" $flags
  done <"$staging/peer-bench.trainers"
  "$build/tools/rtml-data/rtml-data" synth --out "$staging/data" \
    --train 5000 --test 1000 --seed 5
  "$build/tools/rtml-data/rtml-data" synth --out "$staging/data-small" \
    --train 200 --test 50 --seed 5
  nvcc_compile "$root/test/device/DeviceKernelsCheck.cu" \
    "$staging/kernels/DeviceKernelsCheck.o" -I"$root/test/device"
  # The runtime's own CUDA kernels (runtime/lib/*.cu: multi-tensor SGD,
  # fused preprocessing, the bias + ReLU epilogue), archived with it.
  for cu in "$root"/runtime/lib/*.cu; do
    nvcc_compile "$cu" "$staging/kernels/$(basename "$cu" .cu).o"
  done
  stage_cuda_support
  stage_third_party
  # A GPU call takes the working tree and the carried paths, 64 MiB in all,
  # and the staging is more (70 MB with the peer benchmark's trainers): it
  # travels as one xz archive (its CUDA objects shrink tenfold), which the
  # GPU half unpacks.
  command -v xz >/dev/null || { echo "error: xz not found (apt-get install xz-utils)" >&2; exit 1; }
  XZ_OPT="-6 -T0" tar -C "$(dirname "$staging")" -cJf "$archive.tmp" "$(basename "$staging")"
  mv "$archive.tmp" "$archive"
  tree_bytes="$(cd "$root" && git ls-files -z --cached --others --exclude-standard |
    { xargs -0 stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s + 0}')"
  archive_bytes="$(stat -c %s "$archive")"
  mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
  echo "prepared $staging ($(du -sh "$staging" | cut -f1)); carry ${archive#"$root/"} ($(mib "$archive_bytes"); with the tree's $(mib "$tree_bytes"), of the 64 MiB a GPU call takes)"
  (( tree_bytes + archive_bytes <= carry_limit_bytes )) || {
    echo "error: ${archive#"$root/"} and the working tree come to $(mib $((tree_bytes + archive_bytes))), over the 64 MiB a GPU call takes: stage less" >&2
    exit 1
  }
  exit 0
fi

work="${DEVICE_CHECK_WORK:-$root/build-device}"
mkdir -p "$work"
# DEVICE_CHECK_OUT (default $OUT, the folder a remote runner brings back)
# gets the whole log and the summary's rows as they come, so that a check
# stopped at its time limit still returns what it measured, whatever the
# runner keeps of the output's tail.
results="${DEVICE_CHECK_OUT:-${OUT:-}}"
if [[ -n "$results" ]]; then
  mkdir -p "$results"
  printf '| check | result |\n|---|---|\n' >"$results/summary.md"
  exec > >(tee "$results/device-check.log") 2>&1
fi
export PYTHONUNBUFFERED=1 # a killed check keeps the benchmark's lines
declare -a rows=()
status=0
row() {
  rows+=("$1|$2")
  [[ -z "$results" ]] || printf '| %s | %s |\n' "$1" "$2" >>"$results/summary.md"
}
print_summary() {
  section "summary"
  printf '| %-45s | %s\n' "check" "result"
  printf '|%s|%s\n' "-----------------------------------------------" "---------"
  for r in "${rows[@]}"; do
    printf '| %-45s | %s\n' "${r%%|*}" "${r#*|}"
  done
}
section() { printf '\n==> %s\n' "$*"; }
# DEVICE_CHECK_ONLY=towers-bench,dp runs only those checks (names below).
# DEVICE_CHECK_SKIP=peer-bench runs all the others.
wants() {
  [[ ",${DEVICE_CHECK_SKIP:-}," != *",$1,"* ]] &&
    [[ -z "${DEVICE_CHECK_ONLY:-}" || ",$DEVICE_CHECK_ONLY," == *",$1,"* ]]
}

# --prepare's archive, where it came along, is the staging.
if [[ -f "$archive" ]]; then
  rm -rf "$staging"
  "$python" - "$archive" "$(dirname "$staging")" <<'PY' || {
import sys, tarfile
with tarfile.open(sys.argv[1]) as archive:
    try:
        archive.extractall(sys.argv[2], filter="data")
    except TypeError:  # a Python before extraction filters
        archive.extractall(sys.argv[2])
PY
    echo "error: cannot unpack $archive" >&2
    exit 1
  }
fi
[[ -f "$staging/alexnet/model.cpp" ]] || {
  echo "error: $staging is missing; run 'scripts/device-check.sh --prepare' on the development machine and carry ${archive#"$root/"}" >&2
  exit 1
}

section "environment"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
else
  echo "nvidia-smi: not found"
fi
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
# The third-party headers and libraries come staged from the development
# machine (third_party_headers, third_party_libs).
third_party="$staging/third-party"
# ATen's headers want C++20 from PyTorch 2.12 on.
cxx_std=c++17
"$python" -c "import sys; v = tuple(int(x) for x in sys.argv[1].split('+')[0].split('.')[:2]); sys.exit(0 if v >= (2, 12) else 1)" "$torch_version" 2>/dev/null &&
  cxx_std=c++20
cxxflags=(-O2 -std="$cxx_std" -fPIC -fopenmp -D_GLIBCXX_USE_CXX11_ABI="$cxx11_abi"
  -I"$torch_dir/include" -I"$torch_dir/include/torch/csrc/api/include"
  -I"$root/runtime/include" -I"$root/lib/include" -I"$third_party/include" -w)
ldflags=(-fopenmp -L"$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -Wl,--no-as-needed
  -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 -lpthread
  -Wl,-rpath,"$third_party/lib")
for lib in "${third_party_libs[@]}"; do ldflags+=("$third_party/lib/$lib"); done
for staged_file in "${third_party_headers[@]/#/include/}" "${third_party_libs[@]/#/lib/}"; do
  [[ -f "$third_party/$staged_file" ]] || {
    echo "error: $third_party/$staged_file is missing; rerun 'scripts/device-check.sh --prepare'" >&2
    exit 1
  }
done

# rtml's own CUDA kernels: objects from --prepare, linked here against the
# wheel's CUDA runtime (or the staged copy); built in the background while
# the next sections use the GPU.
site_packages="$(dirname "$torch_dir")"
cudart="$(find "$site_packages/nvidia" "$torch_dir/lib" -name 'libcudart.so*' \
  2>/dev/null | sort | head -n 1)"
[[ -n "$cudart" ]] || cudart="$(ls "$staging"/cuda/lib/libcudart.so.* 2>/dev/null | head -n 1)"
cuda_include="$(find "$site_packages/nvidia" -name cuda_runtime_api.h 2>/dev/null | head -n 1)"
cuda_flags=(-DRTML_WITH_CUDA -I"$root/test/device")
[[ -n "$cuda_include" ]] && cuda_flags+=(-I"$(dirname "$cuda_include")")
cuda_flags+=(-I"$staging/cuda/include")
echo "CUDA runtime for rtml's kernels: ${cudart:-none found}; headers: ${cuda_include:+$(dirname "$cuda_include") and }$staging/cuda/include"
# The runtime's stream code (DeviceMap.cpp) calls the CUDA runtime too.
[[ -n "$cudart" ]] && ldflags+=("$cudart" -Wl,-rpath,"$(dirname "$cudart")")

# A build that fails here still leaves the peer benchmark's PyTorch rows to
# time (its rtml rows then read "failed"); every other check needs the
# builds, so the check then ends with the table. Each failed file's first
# errors are printed, all of them in one session.
build_failed=()
build_logs="$work/build-logs"
# A warm GPU machine keeps build-device between calls. What was built from
# the same inputs (the compiler, its flags, PyTorch, the project's sources
# and the staging less its data sets) is reused, so that a session's second
# call spends its minutes on the GPU rather than in g++; any other change
# rebuilds everything.
build_key="$( { "$cxx" --version | head -n 1
  printf '%s\n' "$torch_dir" "$torch_version" "${cxxflags[*]}" \
    "${cuda_flags[*]}" "${ldflags[*]}"
  cd "$root" && find scripts/device-check.sh runtime lib test/device "${staging#"$root/"}" \
    -path "${staging#"$root/"}/data*" -prune -o -type f -print0 |
    sort -z | xargs -0 sha256sum; } | sha256sum | cut -c 1-16)"
reuse_build=0
[[ -f "$work/build.key" && "$(cat "$work/build.key")" == "$build_key" &&
  -f "$work/build.state" && -f "$work/librtml_runtime.a" ]] && reuse_build=1
if [[ $reuse_build -eq 0 ]]; then
  rm -f "$work/build.key" "$work/build.state" "$work/librtml_runtime.a"
  # No program of an earlier build may stand in for one that fails now.
  find "$work" -maxdepth 1 -type f -perm -u+x -delete
  rm -rf "$build_logs"
fi
mkdir -p "$build_logs"
# link_exe NAME COMMAND...: COMMAND writes $work/NAME.tmp (its -o), which
# becomes $work/NAME once the whole link succeeded; a call stopped midway
# leaves no program to reuse.
link_exe() {
  local name="$1"
  shift
  rm -f "$work/$name.tmp"
  "$@" && mv "$work/$name.tmp" "$work/$name"
}
show_build_errors() { # NAME: the first errors of NAME's build log
  echo "---- $1: $build_logs/$1.log (first errors)" >&2
  grep -m 20 -A 3 -E 'error|undefined reference' "$build_logs/$1.log" >&2 ||
    tail -n 20 "$build_logs/$1.log" >&2
}

build_runtime() {
section "building the runtime against PyTorch $torch_version ($jobs jobs)"
start=$SECONDS
rm -f "$work"/*.o
sources=()
for f in "$root"/runtime/lib/*.cpp "$root"/runtime/lib/data/*.cpp "$root"/lib/src/*.cpp; do
  case "$(basename "$f")" in
  Distributed.cpp | StepProfile.cpp) ;; # built below, with fallbacks
  *) sources+=("$f") ;;
  esac
done
printf '%s\n' "${sources[@]}" | xargs -P "$jobs" -I{} sh -c \
  'f="{}"; n="$(basename "$f" .cpp)"; '"$cxx"' '"${cxxflags[*]} ${cuda_flags[*]}"' -c "$f" -o "'"$work"'/$n.o" >"'"$build_logs"'/$n.log" 2>&1 || { echo "FAILED: $f" >&2; exit 0; }' \
  2>"$build_logs/failed.txt"
while read -r _ failed_source; do
  build_failed+=("$(basename "$failed_source" .cpp)")
  show_build_errors "$(basename "$failed_source" .cpp)"
done <"$build_logs/failed.txt"
# Data parallel: c10d with NCCL and Gloo, else Gloo alone, else none,
# whichever the wheel's headers allow.
nccl_include="$(find "$(dirname "$torch_dir")/nvidia" -name nccl.h 2>/dev/null | head -n 1)"
dist_variants=()
[[ -f "$torch_dir/include/gloo/algorithm.h" && -n "$nccl_include" ]] &&
  dist_variants+=("gloo+nccl|-DRTML_WITH_GLOO -DRTML_WITH_NCCL -DUSE_C10D_NCCL -I$(dirname "$nccl_include")")
[[ -f "$torch_dir/include/gloo/algorithm.h" ]] && dist_variants+=("gloo|-DRTML_WITH_GLOO")
[[ -n "$nccl_include" ]] && dist_variants+=("nccl|-DRTML_WITH_NCCL -I$(dirname "$nccl_include")")
dist_variants+=("none|")
rm -f "$work/distributed.log"
for variant in "${dist_variants[@]}"; do
  echo "== ${variant%%|*}" >>"$work/distributed.log"
  # shellcheck disable=SC2086
  if "$cxx" "${cxxflags[@]}" "${cuda_flags[@]}" ${variant#*|} -c "$root/runtime/lib/Distributed.cpp" \
      -o "$work/Distributed.o" 2>>"$work/distributed.log"; then
    dist_backends="${variant%%|*}"
    break
  fi
done
if [[ -z "${dist_backends:-}" ]]; then
  echo "error: Distributed.cpp does not compile with any backend (see $work/distributed.log)" >&2
  grep -m 20 -A 3 error "$work/distributed.log" >&2
  build_failed+=(Distributed)
fi
# bench --profile uses LibTorch's profiler API, which rtml has only been
# built against in LibTorch 1.13: where this one's differs, the trainers are
# built without it (--profile then says so) rather than not at all.
if "$cxx" "${cxxflags[@]}" "${cuda_flags[@]}" -c "$root/runtime/lib/StepProfile.cpp" \
    -o "$work/StepProfile.o" >"$build_logs/StepProfile.log" 2>&1; then
  profiler_note="with the profiler"
elif "$cxx" "${cxxflags[@]}" "${cuda_flags[@]}" -DRTML_NO_STEP_PROFILER -c \
    "$root/runtime/lib/StepProfile.cpp" -o "$work/StepProfile.o" \
    >>"$build_logs/StepProfile.log" 2>&1; then
  profiler_note="WITHOUT the profiler (StepProfile.cpp: see $build_logs/StepProfile.log)"
  show_build_errors StepProfile
else
  build_failed+=(StepProfile)
  show_build_errors StepProfile
fi
rm -f "$work/librtml_runtime.a"
runtime_kernels=()
for cu in "$root"/runtime/lib/*.cu; do
  runtime_kernels+=("$staging/kernels/$(basename "$cu" .cu).o")
done
for kernel in "${runtime_kernels[@]}"; do
  [[ -f "$kernel" ]] || { echo "error: $kernel is missing; rerun --prepare" >&2; exit 1; }
done
if [[ ${#build_failed[@]} -eq 0 ]]; then
  ar rcs "$work/librtml_runtime.a" "$work"/*.o "${runtime_kernels[@]}"
  declare -p dist_backends profiler_note >"$work/build.state" 2>/dev/null
  echo "$build_key" >"$work/build.key"
  row "runtime build (LibTorch $torch_version, CUDA)" "ok in $((SECONDS - start)) s; data parallel: ${dist_backends:-none}; ${profiler_note:-}"
else
  row "runtime build (LibTorch $torch_version, CUDA)" "FAILED: ${build_failed[*]} (errors above; logs in $build_logs)"
  status=1
fi
}
if [[ $reuse_build -eq 1 ]]; then
  section "the runtime, as the last call built it from the same inputs (build $build_key)"
  # shellcheck disable=SC1091
  source "$work/build.state"
  row "runtime build (LibTorch $torch_version, CUDA)" "reused (build $build_key); data parallel: ${dist_backends:-none}; ${profiler_note:-}"
else
  build_runtime
fi

build_exe() { # NAME MODEL_DIR: model.cpp + kernels.cpp + the prebuilt kernels
  local dir="$2"
  link_exe "$1" "$cxx" "${cxxflags[@]}" "${cuda_flags[@]}" -I"$dir" "$dir/model.cpp" \
    "$dir/kernels.cpp" "$dir/kernels_cuda.o" -o "$work/$1.tmp" \
    "$work/librtml_runtime.a" "${ldflags[@]}" "$cudart" \
    -Wl,-rpath,"$(dirname "$cudart")" >"$build_logs/$1.log" 2>&1
}
section "building the emitted trainers and the device op check"
start=$SECONDS
# The programs each check runs besides the peer benchmark's trainers
# (the profile's among them) and the kernel check (linked below); a call
# links those of the checks it wants, so that a session's first call
# (DEVICE_CHECK_ONLY=peer-bench,profile) starts timing sooner.
declare -A check_programs=(
  [ops]="device-ops-check"
  [predict]="alexnet_fp32 alexnet"
  [small]="small_cnn"
  [graph]="small_cnn_fp32 small_cnn small_towers_fp32"
  [inception]="mini_googlenet mini_googlenet_fp32"
  [towers]="small_towers"
  [bench]="alexnet alexnet_nofuse"
  [towers-bench]="alexnet_towers"
  [epilogue-bench]="googlenet googlenet_no_epilogue"
  [dp]="small_cnn dp_cnn"
)
programs=()
for check in "${!check_programs[@]}"; do
  wants "$check" || continue
  for program in ${check_programs[$check]}; do
    [[ " ${programs[*]} " == *" $program "* ]] || programs+=("$program")
  done
done
# The peer benchmark's trainers: one that fails to build is a failed row of
# its table, not the end of the check.
# The profile check needs only the default trainers it profiles.
profiled=(alexnet googlenet)
peer_trainers=()
if { wants peer-bench || wants profile; } && [[ -f "$staging/peer-bench.trainers" ]]; then
  while IFS=$'\t' read -r name _; do
    [[ " ${programs[*]} " == *" $name "* ]] && continue
    if wants peer-bench || [[ " ${profiled[*]} " == *" $name "* ]]; then
      peer_trainers+=("$name")
    fi
  done <"$staging/peer-bench.trainers"
fi
if [[ ${#build_failed[@]} -eq 0 ]]; then
  # Only what this build has not linked yet (all of it after any change).
  # The links' own PIDs are waited for: a bare `wait` would also wait for
  # the log's tee (bash 5.1 and later), which never ends.
  reused=0 links=()
  for m in "${programs[@]}" "${peer_trainers[@]}"; do
    if [[ -x "$work/$m" ]]; then
      reused=$((reused + 1))
    elif [[ "$m" == device-ops-check ]]; then
      link_exe device-ops-check "$cxx" "${cxxflags[@]}" "$root/test/device/DeviceOpsCheck.cpp" \
        -o "$work/device-ops-check.tmp" "$work/librtml_runtime.a" "${ldflags[@]}" \
        >"$build_logs/device-ops-check.log" 2>&1 &
      links+=($!)
    else
      build_exe "$m" "$staging/$m" &
      links+=($!)
    fi
  done
  [[ ${#links[@]} -eq 0 ]] || wait "${links[@]}"
  for exe in "${programs[@]}"; do
    [[ -x "$work/$exe" ]] || { build_failed+=("$exe"); show_build_errors "$exe"; }
  done
  if [[ ${#build_failed[@]} -eq 0 ]]; then
    reused_note=""
    [[ $reused -eq 0 ]] || reused_note=", $reused reused from build $build_key"
    row "trainers built from emitted source" "$(( ${#programs[@]} + ${#peer_trainers[@]} )) programs ok in $((SECONDS - start)) s$reused_note"
  else
    row "trainers built from emitted source" "FAILED: ${build_failed[*]} (errors above; logs in $build_logs)"
    status=1
  fi
fi

if wants peer-bench; then
section "peer benchmark: rtml against PyTorch eager, tuned and torch.compile (batch $batch)"
# Before the kernel check's build starts in the background: nothing else
# runs on the machine while it times.
# Under a deadline the benchmark leaves the profiles after it about a
# minute each (PEER_BENCH_ARGS' own --time-budget still wins).
peer_budget=()
if [[ -n "${DEVICE_CHECK_DEADLINE:-}" ]]; then
  reserve=0
  wants profile && reserve=$((60 * ${#profiled[@]}))
  left=$((DEVICE_CHECK_DEADLINE - SECONDS - reserve))
  # Only ever shorter than bench/step_bench.py's own GPU budget (360 s).
  (( left < 360 )) && peer_budget=(--time-budget "$(( left > 0 ? left : 0 ))")
  echo "deadline ${DEVICE_CHECK_DEADLINE} s, ${SECONDS} s spent: ${peer_budget[*]:-the default time budget}"
fi
if [[ -f "$staging/peer-bench.json" ]]; then
  # shellcheck disable=SC2086
  "$python" "$root/bench/step_bench.py" --peer \
    --manifest "$staging/peer-bench.json" --trainer-dir "$work" \
    --batch-size "$batch" --out "$work/step-bench" \
    --json-out "$work/peer-bench.jsonl" "${peer_budget[@]}" ${PEER_BENCH_ARGS:-} |
    tee "$work/peer-bench.txt"
  peer_rc=${PIPESTATUS[0]}
  [[ -z "$results" || ! -f "$work/peer-bench.jsonl" ]] ||
    cp "$work/peer-bench.jsonl" "$results/"
else
  echo "error: $staging/peer-bench.json is missing; rerun --prepare" >&2
  peer_rc=1
fi
if [[ $peer_rc -eq 0 && -s "$work/peer-bench.jsonl" ]]; then
  while IFS='|' read -r check result; do row "$check" "$result"; done < <(
    "$python" - "$work/peer-bench.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    ran = {n: v["median_ms"] for n, v in r["variants"].items() if "median_ms" in v}
    cells = [f"{n} {ran[n]:.2f}" if n in ran else f"{n} {v['status']}"
             for n, v in r["variants"].items()]
    rtml = [(ms, n) for n, ms in ran.items() if n.startswith("rtml")]
    best, verdict = r["best_compile"], ""
    if rtml and best:
        ms, name = min(rtml)
        verdict = (f"; fastest rtml ({name}) vs best compile ({best}): "
                   f"{ran[best] / ms:.2f}x")
    print(f"peer bench {r['model']}, batch {r['batch']}, ms/step|"
          + ", ".join(cells) + verdict)
PY
  )
else
  row "peer benchmark" "FAILED (exit $peer_rc; see $work/peer-bench.txt)"; status=1
fi
fi

if [[ ${#build_failed[@]} -gt 0 ]]; then
  print_summary
  echo "error: the build failed (${build_failed[*]}); the checks after the peer benchmark need it" >&2
  exit 1
fi

if wants profile; then
section "profile: where the default trainers' step goes on the GPU (batch $batch)"
# bench --profile: one step's kernels and ops, as JSON beside the log (the
# results folder), and the longest printed. Warm-up 5: the step is
# captured as a CUDA graph after 3, and the replays are what is profiled.
# Each run's time limit: 180 s, or what is left before the deadline.
profile_limit() {
  local limit=180
  if [[ -n "${DEVICE_CHECK_DEADLINE:-}" ]]; then
    local left=$((DEVICE_CHECK_DEADLINE - SECONDS))
    (( left < limit )) && limit=$(( left > 1 ? left : 1 ))
  fi
  echo "$limit"
}
for m in "${profiled[@]}"; do
  profile_file="${results:-$work}/profile-$m.json"
  if [[ ! -x "$work/$m" ]]; then
    row "profile $m (batch $batch)" "FAILED: no trainer (its build log: $build_logs/$m.log)"
    status=1
  elif timeout "$(profile_limit)" "$work/$m" bench --device cuda --batch-size "$batch" \
      --steps 5 --warmup 5 --profile "$profile_file" 2>&1 |
      tee "$work/profile-$m.txt"; [[ ${PIPESTATUS[0]} -eq 0 ]]; then
    how="replays of the CUDA graph"
    # Where the profiler sees no kernel inside a graph's replay, eager
    # steps show the same kernels.
    if [[ -s "$profile_file" ]] && ! grep -q '"on": "gpu"' "$profile_file"; then
      how="eager steps (no kernels seen in the replays)"
      timeout "$(profile_limit)" "$work/$m" bench --device cuda --batch-size "$batch" \
        --steps 5 --warmup 2 --no-cuda-graph --profile "$profile_file" 2>&1 |
        tee "$work/profile-$m.txt"
    fi
    if [[ -s "$profile_file" ]]; then
      row "profile $m (batch $batch)" "ok, $how: $(grep -m 1 '^profile' "$work/profile-$m.txt" | sed 's/^profile ([^)]*): //'); $profile_file"
    else
      row "profile $m (batch $batch)" "FAILED: no $profile_file (see $work/profile-$m.txt)"
      status=1
    fi
  else
    row "profile $m (batch $batch)" "FAILED (see $work/profile-$m.txt)"
    status=1
  fi
done
fi

kernels_log="$work/device-kernels-check.build.log"
if ! wants kernels && ! wants kernels-bf16; then
  kernels_build_pid=""
elif [[ -x "$work/device-kernels-check" ]]; then
  echo "reused (build $build_key)" >"$kernels_log"
  kernels_build_pid=""
elif [[ -f "$staging/kernels/DeviceKernelsCheck.o" && -n "$cudart" ]]; then
  link_exe device-kernels-check "$cxx" "${cxxflags[@]}" "${cuda_flags[@]}" \
    "$root/test/device/DeviceKernelsCheck.cpp" \
    "$staging/kernels/DeviceKernelsCheck.o" -o "$work/device-kernels-check.tmp" \
    "$work/librtml_runtime.a" "${ldflags[@]}" "$cudart" \
    -Wl,-rpath,"$(dirname "$cudart")" >"$kernels_log" 2>&1 &
  kernels_build_pid=$!
else
  echo "missing: $staging/kernels/DeviceKernelsCheck.o (rerun --prepare) or libcudart (cudart='$cudart')" >"$kernels_log"
  kernels_build_pid=""
fi

if wants ops; then
section "runtime ops on CUDA against the CPU (forward and gradients)"
if "$work/device-ops-check" | tee "$work/ops.txt" &&
    tail -n 1 "$work/ops.txt" | grep -q ' op checks passed on '; then
  row "ops on CUDA vs CPU" "$(tail -n 1 "$work/ops.txt")"
else
  failed_ops="$(grep -c '^FAIL' "$work/ops.txt")"
  if [[ "$failed_ops" -gt 0 ]]; then
    row "ops on CUDA vs CPU" "FAILED: $failed_ops cases"
  else
    row "ops on CUDA vs CPU" "FAILED: no count of passed checks (see $work/ops.txt)"
  fi
  status=1
fi
fi

if wants predict; then
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
  # fp32 against PyTorch's fp32 (TF32 off in both); the default trainer
  # (bf16 on CUDA) within bf16's 8 mantissa bits, relative to the largest
  # logit.
  for variant in "alexnet_fp32|fp32|1e-3" "alexnet|default precision|3e-2"; do
    IFS='|' read -r trainer label tolerance <<<"$variant"
    if "$work/$trainer" predict --device cuda --weights "$work/predict/weights.pt" \
        --input "$work/predict/input.pt" --output "$work/predict/$trainer.pt"; then
      diff="$("$python" -c "import torch,sys; e=torch.load(sys.argv[1]); a=torch.load(sys.argv[2]).float(); print(f'{((e-a).abs().max() / e.abs().max().clamp_min(1e-6)).item():.2e}')" "$work/predict/expected.pt" "$work/predict/$trainer.pt")"
      verdict="PASS"
      "$python" -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$diff" "$tolerance" || { verdict="FAIL"; status=1; }
      row "AlexNet predict $label, cuda vs PyTorch fp32 cuda" "$verdict: max diff $diff of the largest logit (< $tolerance; batch 8)"
    else
      row "AlexNet predict $label, cuda vs PyTorch fp32 cuda" "FAILED to run"; status=1
    fi
  done
else
  row "AlexNet predict, cuda vs PyTorch cuda" "FAILED: reference export"; status=1
fi
fi

if wants small; then
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
fi

if wants graph; then
section "CUDA graph of the training step against the eager step (2 epochs: small CNN; towers sharing one GPU)"
# 200 images at batch 32: each epoch has 3 eager warm-up steps or replays,
# a capture, and an eager last short batch; the step schedule changes the
# rate in epoch 2, which the replays must read from device memory. The
# towers' graph holds both logical devices' streams.
graph_vs_eager() { # LABEL TRAINER TOLERANCE [trainer flags...]
  local label="$1" trainer="$2" tolerance="$3" ok=1 mode diff_line=""
  shift 3
  for mode in graph eager; do
    local flags=("$@")
    [[ $mode == eager ]] && flags+=(--no-cuda-graph)
    "$work/$trainer" train --data "$staging/data-small" --val 0 \
      --epochs 2 --lr-schedule step --lr-step 1 --lr-gamma 0.1 --no-progress \
      --out "$work/run-$trainer-$mode" --overwrite "${flags[@]}" \
      >"$work/run-$trainer-$mode.txt" 2>&1 ||
      { ok=0; cat "$work/run-$trainer-$mode.txt"; }
  done
  if [[ $ok == 1 ]] && grep -q "cuda graph: the training step is captured" "$work/run-$trainer-graph.txt" &&
      ! grep -q "cuda graph" "$work/run-$trainer-eager.txt" &&
      diff_line="$("$python" - "$work/run-$trainer-graph" "$work/run-$trainer-eager" "$tolerance" <<'PY'
import json, sys, torch
graph, eager, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
def records(run):
    return [json.loads(l) for l in open(run + "/metrics.jsonl")]
worst = 0.0
for g, e in zip(records(graph), records(eager)):
    for key in ("loss", "accuracy"):
        worst = max(worst, abs(g[key] - e[key]) / max(1.0, abs(e[key])))
    assert g["images"] == e["images"], (g, e)
weights = 0.0
wg = torch.load(graph + "/checkpoints/last.pt")
we = torch.load(eager + "/checkpoints/last.pt")
for name in we:
    scale = max(1.0, we[name].abs().max().item())
    weights = max(weights, (wg[name] - we[name]).abs().max().item() / scale)
print(f"max relative difference: metrics {worst:.2e}, weights {weights:.2e}")
# Same kernels, same dropout masks (the graph draws from the generator's
# offset as the eager step does); each process's cuDNN autotuning may still
# pick other convolution algorithms, hence a tolerance.
sys.exit(0 if worst < tolerance and weights < tolerance else 1)
PY
)"; then
    row "$label" "PASS: $diff_line"
  else
    row "$label" "FAIL: ${diff_line:-a run failed or the graph was not captured (see $work/run-$trainer-graph.txt)}"; status=1
  fi
}
# fp32: another algorithm moves a result by float rounding; in the default
# bf16 by a bf16 rounding (2^-8) here and there, which two epochs carry on.
graph_vs_eager "CUDA graph step vs eager, fp32" small_cnn_fp32 5e-3 --device cuda
graph_vs_eager "CUDA graph step vs eager, default precision" small_cnn 5e-2 --device cuda
graph_vs_eager "CUDA graph step vs eager, towers on one GPU, fp32" small_towers_fp32 5e-3 --devices cuda:0,cuda:0
fi

if wants inception; then
section "inception blocks (fused concat+ReLU, batch norm, side head) on the GPU"
if "$work/mini_googlenet" train --device cuda --data "$staging/data" \
    --out "$work/run-inception" --no-progress &&
  "$python" -c "import torch; torch.manual_seed(0); torch.save(torch.randn(16, 3, 32, 32), '$work/inception-x.pt')" &&
  "$work/mini_googlenet_fp32" predict --device cuda --weights "$work/run-inception/checkpoints/last.pt" \
    --input "$work/inception-x.pt" --output "$work/inception-cuda.pt" &&
  "$work/mini_googlenet_fp32" predict --device cpu --weights "$work/run-inception/checkpoints/last.pt" \
    --input "$work/inception-x.pt" --output "$work/inception-cpu.pt"; then
  acc="$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_test_accuracy'])" "$work/run-inception/summary.json")"
  diff="$("$python" -c "import torch,sys; a=torch.load(sys.argv[1]); b=torch.load(sys.argv[2]); print(f'{(a-b).abs().max().item():.2e}')" "$work/inception-cuda.pt" "$work/inception-cpu.pt")"
  verdict="PASS"
  "$python" -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1e-3 and float(sys.argv[2]) > 0.5 else 1)" "$diff" "$acc" || { verdict="FAIL"; status=1; }
  row "inception model: cuda vs cpu predict (fp32), accuracy" "$verdict: max abs diff $diff, best test accuracy $acc"
else
  row "inception model on cuda" "FAILED to run"; status=1
fi
fi

if wants towers; then
section "two-tower model: logical devices gpu0, gpu1 both on cuda:0"
if "$work/small_towers" train --devices cuda:0,cuda:0 --data "$staging/data" \
    --out "$work/run-towers" --epochs 2 --no-progress 2>&1 | tee "$work/towers.txt"; then
  acc="$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_test_accuracy'])" "$work/run-towers/summary.json")"
  verdict="PASS"
  "$python" -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.5 else 1)" "$acc" || { verdict="FAIL"; status=1; }
  row "towers (2 logical devices) on one GPU" "$verdict: best test accuracy $acc"
else
  row "towers (2 logical devices) on one GPU" "FAILED to run"; status=1
fi
fi

if wants kernels; then
section "rtml's CUDA kernels against their CPU twins and NHWC against NCHW; fused ReLU+LRN against PyTorch (batch $batch)"
[[ -n "$kernels_build_pid" ]] && { wait "$kernels_build_pid"; kernels_build_pid=""; }
if [[ -x "$work/device-kernels-check" ]]; then
  RTML_BENCH_BATCH="$batch" "$work/device-kernels-check" | tee "$work/kernels.txt"
  kernels_rc=${PIPESTATUS[0]}
  check_line="$(grep '^SUMMARY-CHECK: ' "$work/kernels.txt" | sed 's/^SUMMARY-CHECK: //')"
  bench_line="$(grep '^SUMMARY-BENCH: ' "$work/kernels.txt" | sed 's/^SUMMARY-BENCH: //')"
  if [[ $kernels_rc -eq 0 && -n "$check_line" ]]; then
    row "CUDA kernels vs CPU twins" "PASS: $check_line"
  else
    row "CUDA kernels vs CPU twins" "FAIL (exit $kernels_rc): ${check_line:-no summary, see $work/kernels.txt}"
    status=1
  fi
  row "fused ReLU+LRN fwd+bwd, cuda" "${bench_line:-FAILED: no timing line}"
else
  echo "error: building the CUDA kernel check failed:" >&2
  tail -n 30 "$kernels_log" >&2
  row "CUDA kernels vs CPU twins" "FAILED to build (see $kernels_log)"
  status=1
fi
fi

if wants kernels-bf16; then
section "rtml's bf16 kernels against their CPU twins; bf16 fused ReLU+LRN against PyTorch autocast (batch $batch)"
[[ -n "$kernels_build_pid" ]] && { wait "$kernels_build_pid"; kernels_build_pid=""; }
if [[ -x "$work/device-kernels-check" ]]; then
  RTML_BENCH_BATCH="$batch" "$work/device-kernels-check" --bf16 | tee "$work/kernels-bf16.txt"
  kernels_rc=${PIPESTATUS[0]}
  check_line="$(grep '^SUMMARY-CHECK: ' "$work/kernels-bf16.txt" | sed 's/^SUMMARY-CHECK: //')"
  bench_line="$(grep '^SUMMARY-BENCH: ' "$work/kernels-bf16.txt" | sed 's/^SUMMARY-BENCH: //')"
  if [[ $kernels_rc -eq 0 && -n "$check_line" ]]; then
    row "bf16 CUDA kernels vs CPU twins" "PASS: $check_line"
  else
    row "bf16 CUDA kernels vs CPU twins" "FAIL (exit $kernels_rc): ${check_line:-no summary, see $work/kernels-bf16.txt}"
    status=1
  fi
  row "bf16 fused ReLU+LRN fwd+bwd, cuda" "${bench_line:-FAILED: no timing line}"
else
  echo "error: building the CUDA kernel check failed:" >&2
  tail -n 30 "$kernels_log" >&2
  row "bf16 CUDA kernels vs CPU twins" "FAILED to build (see $kernels_log)"
  status=1
fi
fi

if wants bench; then
section "AlexNet training step on the GPU: rtml against PyTorch eager (batch $batch)"
"$work/alexnet" bench --device cuda --batch-size "$batch" --steps "$steps" \
  --warmup 5 --json | tee "$work/bench-rtml.txt"
"$python" "$root/bench/alexnet_eager.py" --device cuda --batch-size "$batch" \
  --steps "$steps" --warmup 5 --json | tee "$work/bench-torch.txt"
"$work/alexnet" bench --device cuda --batch-size "$batch" --steps "$steps" \
  --warmup 5 --json | tee -a "$work/bench-rtml.txt"
"$python" "$root/bench/alexnet_eager.py" --device cuda --batch-size "$batch" \
  --steps "$steps" --warmup 5 --json | tee -a "$work/bench-torch.txt"
"$work/alexnet_nofuse" bench --device cuda --batch-size "$batch" --steps "$steps" \
  --warmup 5 --json | tee "$work/bench-nofuse.txt"
"$work/alexnet_nofuse" bench --device cuda --batch-size "$batch" --steps "$steps" \
  --warmup 5 --json | tee -a "$work/bench-nofuse.txt"
bench_row="$("$python" - "$work/bench-rtml.txt" "$work/bench-torch.txt" "$work/bench-nofuse.txt" <<'PY'
import json, sys
def best(path):
    values = []
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            values.append(json.loads(line)["mean_ms"])
    return min(values)
r, t, n = best(sys.argv[1]), best(sys.argv[2]), best(sys.argv[3])
print(f"rtml fused {r:.2f} ms, rtml --no-fuse {n:.2f} ms, PyTorch eager {t:.2f} ms; eager/fused {t / r:.2f}x, no-fuse/fused {n / r:.2f}x")
PY
)" || bench_row="FAILED"
row "AlexNet train step, batch $batch, cuda" "$bench_row"
fi

if wants towers-bench; then
section "two-tower AlexNet on one GPU: a stream per tower against one stream (batch $batch)"
rm -f "$work"/towers-*.txt # a rerun on a warm machine starts afresh
for round in 1 2; do
  for mode in streams serial; do
    flag=(); [[ $mode == serial ]] && flag=(--serial-devices)
    "$work/alexnet_towers" bench --devices cuda:0,cuda:0 "${flag[@]}" \
      --batch-size "$batch" --steps "$steps" --warmup 5 --json 2>/dev/null |
      tee -a "$work/towers-$mode.txt"
  done
done
towers_row="$("$python" - "$work/towers-streams.txt" "$work/towers-serial.txt" <<'PY'
import json, sys
def runs(path):
    return [json.loads(l) for l in open(path) if l.startswith("{")]
s, t = runs(sys.argv[1]), runs(sys.argv[2])
a, b = min(r["mean_ms"] for r in s), min(r["mean_ms"] for r in t)
mb = lambda n: f"{n / 1e6:.1f} MB"
print(f"streams {a:.2f} ms, serial {b:.2f} ms (serial/streams {b / a:.2f}x, "
      f"steps {s[0].get('step_mode', '?')}); "
      f"moved per step {mb(s[0]['transfer_forward_bytes'])} fwd, "
      f"{mb(s[0]['transfer_backward_bytes'])} bwd")
PY
)" || towers_row="FAILED"
row "alexnet_towers step, both towers on cuda:0" "$towers_row"
fi

if wants epilogue-bench; then
section "GoogLeNet step on the GPU: each ReLU adding its convolution's bias (rtml-bias-epilogue) against ATen adding it after the convolution (bf16, batch $batch)"
# A rerun on a warm machine starts afresh.
rm -f "$work"/epilogue-*.txt
for round in 1 2; do
  for variant in googlenet googlenet_no_epilogue; do
    "$work/$variant" bench --device cuda --batch-size "$batch" --steps "$steps" \
      --warmup 5 --json 2>/dev/null | tee -a "$work/epilogue-$variant.txt"
  done
done
epilogue_row="$("$python" - "$work/epilogue-googlenet.txt" "$work/epilogue-googlenet_no_epilogue.txt" <<'PY'
import json, sys
def best(path):
    return min(json.loads(l)["median_ms"] for l in open(path) if l.startswith("{"))
a, b = best(sys.argv[1]), best(sys.argv[2])
print(f"epilogue {a:.2f} ms, bias in the convolution {b:.2f} ms "
      f"(without/with {b / a:.3f}x; medians, best of 2 interleaved rounds)")
PY
)" || epilogue_row="FAILED"
row "googlenet step, bias epilogue A/B (bf16)" "$epilogue_row"
fi

if wants dp; then
section "data parallel: one process on NCCL; 2 processes by torchrun (CPU, Gloo) and on one GPU (Gloo)"
# gpu_job NPROC BACKEND EPOCHS: the small CNN trained by NPROC processes
# on cuda:0 under torchrun, one table row.
gpu_job() {
  local nproc="$1" backend="$2" epochs="$3" out="$work/dp-gpu-$2-$1"
  local label="data parallel, $nproc process(es) on cuda:0 (torchrun, $backend)"
  rm -rf "$out"
  if "$python" -m torch.distributed.run --standalone --nproc_per_node "$nproc" \
      --no-python "$work/small_cnn" train --device cuda:0 --dist-backend "$backend" \
      --data "$staging/data" --out "$out" --batch-size 64 --epochs "$epochs" \
      --no-progress >"$out.txt" 2>&1; then
    acc="$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['best_test_accuracy'])" "$out/summary.json")"
    row "$label" "PASS: best test accuracy $acc"
  else
    row "$label" "FAIL: $(tail -n 2 "$out.txt" | tr '\n' ' ')"; status=1
  fi
}
# NCCL refuses two ranks on one GPU: one rank (a group of one, as
# --dist-backend asks) is all one GPU can show, but it runs the NCCL
# process group, its all-reduce and the wheel's libnccl.
if [[ "${dist_backends:-none}" == *nccl* ]]; then
  gpu_job 1 nccl 1
else
  row "data parallel, nccl" "SKIPPED: runtime has ${dist_backends:-none} (no NCCL headers in the wheel)"
fi
if [[ "${dist_backends:-none}" != *gloo* ]]; then
  # The CPU checks and two ranks sharing a GPU need Gloo.
  row "data parallel, gloo" "SKIPPED: runtime has ${dist_backends:-none} (no Gloo headers in the wheel)"
else
  if "$python" "$root/test/E2E/Inputs/data_parallel.py" same-weights \
      "$work/dp_cnn" "$staging/data-small" "$work/dp" >"$work/dp.txt" 2>&1; then
    row "data parallel, 2 vs 1 process (CPU, torchrun)" "PASS: $(grep 'torchrun: max' "$work/dp.txt")"
  else
    row "data parallel, 2 vs 1 process (CPU, torchrun)" "FAIL: $(tail -n 1 "$work/dp.txt")"; status=1
  fi
  gpu_job 2 gloo 2
fi
fi

print_summary
exit $status
