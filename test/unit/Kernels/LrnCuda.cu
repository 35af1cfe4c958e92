//===- LrnCuda.cu - The LRN CUDA kernels compile for every kind of config -===//
//
// Compiled by nvcc in the test suite (KernelsLrnCudaCompiles), as a model's
// kernels.cu is: no torch header, configs from the emitter's struct form.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/Kernels/Lrn.cuh"

// RTML_LRN_CONFIG (Lrn.h) writes the struct an emitted kernels.h holds.

RTML_LRN_CONFIG(SeedRelu, 5, 1.0e-4f, 0.75f, 2.0f, true)
RTML_LRN_CONFIG(Seed, 5, 1.0e-4f, 0.75f, 2.0f, false)
RTML_LRN_CONFIG(Size1, 1, 0.5f, 0.5f, 1.0f, false)
RTML_LRN_CONFIG(Size4Relu, 4, 0.5f, 0.6f, 1.0f, true)
RTML_LRN_CONFIG(Size11, 11, 0.9f, 1.0f, 1.0f, false)

RTML_INSTANTIATE_LRN_CUDA(SeedRelu)
RTML_INSTANTIATE_LRN_CUDA(Seed)
RTML_INSTANTIATE_LRN_CUDA(Size1)
RTML_INSTANTIATE_LRN_CUDA(Size4Relu)
RTML_INSTANTIATE_LRN_CUDA(Size11)
