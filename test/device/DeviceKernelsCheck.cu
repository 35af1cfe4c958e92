//===- DeviceKernelsCheck.cu - CUDA half of the GPU kernel check ----------===//
//
// The CUDA kernels of every config DeviceKernelsCheck.cpp checks. Compiled
// by nvcc on the development machine (scripts/device-check.sh --prepare, and
// the test suite's nvcc compile test); the GPU machine only links the object.
//
//===----------------------------------------------------------------------===//
#include "DeviceKernelsConfigs.h"
#include "rtml/Runtime/Kernels/ConcatRelu.cuh"
#include "rtml/Runtime/Kernels/Lrn.cuh"

RTML_DEVICE_LRN_CONFIGS(RTML_INSTANTIATE_LRN_CUDA)
RTML_DEVICE_CONCAT_RELU_CONFIGS(RTML_INSTANTIATE_CONCAT_RELU_CUDA)
