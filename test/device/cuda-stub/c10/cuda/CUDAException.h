// Compile-only stand-in for CUDA LibTorch's c10/cuda/CUDAException.h (see
// CUDAStream.h here).
#pragma once
#include <c10/util/Exception.h>

#define C10_CUDA_CHECK(EXPR)                                                   \
  do {                                                                         \
    const auto rtml_stub_error = (EXPR);                                       \
    TORCH_CHECK(static_cast<int>(rtml_stub_error) == 0, "CUDA error");         \
  } while (0)
