"""Compiles the CUDA kernels (kernels.cu) of every model in the zoo with nvcc.

  nvcc_zoo.py RTMLC NVCC RUNTIME_INCLUDE MODELS_DIR WORK_DIR

For each models/*.yaml: `rtmlc --no-build` emits the trainer's source, then
nvcc compiles its kernels.cu for sm_80 and sm_90. Prints one line per model
and fails if any model fails.
"""
import glob
import os
import subprocess
import sys


def main():
    rtmlc, nvcc, runtime_include, models, work = sys.argv[1:6]
    failures = 0
    specs = sorted(glob.glob(os.path.join(models, "*.yaml")))
    if not specs:
        sys.exit(f"no models in {models}")
    for spec in specs:
        name = os.path.splitext(os.path.basename(spec))[0]
        out = os.path.join(work, name)
        emitted = subprocess.run([rtmlc, spec, "--no-build", "-o", out],
                                 capture_output=True, text=True)
        if emitted.returncode != 0:
            print(f"FAIL {name}: rtmlc: {emitted.stderr.strip()}")
            failures += 1
            continue
        with open(os.path.join(out, "kernels.cu")) as f:
            kernels = f.read().count("RTML_INSTANTIATE_LRN_CUDA(")
        compiled = subprocess.run(
            [nvcc, "-std=c++17", "-O3", "-Xcompiler", "-fPIC",
             "-gencode", "arch=compute_80,code=sm_80",
             "-gencode", "arch=compute_90,code=sm_90",
             "-I", runtime_include, "-I", out,
             "-c", os.path.join(out, "kernels.cu"),
             "-o", os.path.join(out, "kernels_cuda.o")],
            capture_output=True, text=True)
        if compiled.returncode != 0:
            print(f"FAIL {name}: nvcc: {compiled.stderr.strip()}")
            failures += 1
            continue
        print(f"ok {name}: {kernels} kernels for sm_80 and sm_90")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
