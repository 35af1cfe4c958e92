# rtml_add_nvcc_compile_test(NAME SOURCE [INCLUDES dir...] [FLAGS flag...])
#
# A CTest test that compiles SOURCE (a .cu) with nvcc for sm_80 and sm_90 and
# fails on any nvcc error. The development machine has the CUDA toolkit but
# no GPU and a CPU-only LibTorch, so this is how CI knows that the CUDA
# kernels (the runtime's and each model's emitted kernels.cu) keep compiling.
# Without nvcc the test is not added and configure says so once.
#
# RTML_NVCC (cache) names the compiler; the default looks on PATH, then in
# /usr/local/cuda/bin.
include_guard(GLOBAL)

find_program(RTML_NVCC nvcc HINTS /usr/local/cuda/bin
  DOC "nvcc used by the CUDA compile tests")
set(RTML_NVCC_ARCH_FLAGS
  -gencode arch=compute_80,code=sm_80
  -gencode arch=compute_90,code=sm_90
  CACHE STRING "nvcc -gencode flags of the CUDA compile tests")

function(rtml_add_nvcc_compile_test name source)
  cmake_parse_arguments(ARG "" "" "INCLUDES;FLAGS" ${ARGN})
  if(NOT RTML_NVCC)
    get_property(warned GLOBAL PROPERTY RTML_NVCC_WARNED)
    if(NOT warned)
      message(STATUS "nvcc not found: CUDA compile tests are skipped")
      set_property(GLOBAL PROPERTY RTML_NVCC_WARNED TRUE)
    endif()
    return()
  endif()
  get_filename_component(source "${source}" ABSOLUTE)
  set(includes)
  foreach(dir ${ARG_INCLUDES})
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND includes "-I${dir}")
  endforeach()
  add_test(NAME ${name}
    COMMAND ${RTML_NVCC} -std=c++17 -O3 ${RTML_NVCC_ARCH_FLAGS}
            ${includes} ${ARG_FLAGS}
            -c "${source}" -o "${CMAKE_CURRENT_BINARY_DIR}/${name}.o")
  # nvcc takes seconds per architecture; keep it apart from the quick tests.
  set_tests_properties(${name} PROPERTIES LABELS "nvcc" TIMEOUT 600)
endfunction()
