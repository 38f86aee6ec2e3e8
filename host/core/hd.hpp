// NAQS_HD marks small inline math helpers that compile for both the host and the device, so
// elementwise formulas live once and the CPU reference and the CUDA kernel share them.
#pragma once
#if defined(__CUDACC__)
#define NAQS_HD __host__ __device__ __forceinline__
#else
#define NAQS_HD inline
#endif
