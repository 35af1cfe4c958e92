# lit configuration of the rtml test suite.
import os
import shutil

import lit.formats

config.name = "rtml"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test", ".yaml"]
config.excludes = ["Inputs", "unit", "fuzz", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.rtml_binary_dir, "test")

tool_dirs = [
    os.path.join(config.rtml_tools_dir, "rtmlc"),
    os.path.join(config.rtml_tools_dir, "rtml-opt"),
    os.path.join(config.rtml_tools_dir, "rtml-translate"),
    os.path.join(config.rtml_binary_dir, "compiler", "tblgen"),
    os.path.join(config.rtml_tools_dir, "rtml-data"),
    os.path.join(config.rtml_tools_dir, "rtml-report"),
    os.path.join(config.rtml_tools_dir, "rtml-study"),
    config.llvm_tools_dir,
]
config.environment["PATH"] = os.pathsep.join(
    tool_dirs + [config.environment.get("PATH", os.environ.get("PATH", ""))])
# Trainers are built against this build's runtime, with ccache when present.
config.environment["RTML_RUNTIME_DIR"] = config.rtml_binary_dir
# Tests run side by side (lit -j) on cores they share: OpenMP workers that
# spin while waiting would take the cores from each other's work.
config.environment["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY",
                                                       "passive")
# The compiler flags reach the trainers' CMake builds (scripts/sanitize.sh
# instruments them with them), and the sanitizers' options their runs.
for var in ("HOME", "CCACHE_DIR", "TMPDIR", "CFLAGS", "CXXFLAGS", "LDFLAGS",
            "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

config.substitutions.append(("%models", os.path.join(config.rtml_source_dir, "models")))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%rtml_src", config.rtml_source_dir))
config.substitutions.append(("%mlir_include", config.mlir_include_dir))
config.substitutions.append(("%rtmlc", os.path.join(config.rtml_tools_dir, "rtmlc", "rtmlc")))

# nvcc compiles the emitted CUDA kernels in CI; nothing here runs them.
nvcc = os.environ.get("NVCC", "/usr/local/cuda/bin/nvcc")
if os.path.exists(nvcc):
    config.available_features.add("nvcc")
    config.substitutions.append(("%nvcc", nvcc))
# scripts/device-check.sh --check-staging asks dpkg which package owns a
# header.
if shutil.which("dpkg"):
    config.available_features.add("dpkg")
