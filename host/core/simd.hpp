// NAQS_AVX2_CLONES: compile a hot loop twice on x86-64 (AVX2 and the baseline SSE2), the
// variant chosen once at load time (GCC/Clang target_clones), so the portable build still uses
// 256-bit vectors where the machine has them. AVX2 without FMA rounds exactly as SSE2 (a
// multiply and an add, each rounded; the "avx2" target does not enable FMA, and the files that
// need row-count-independent sums are compiled with -ffp-contract=off), so results do not depend
// on the machine's vector width. Put it on non-template functions (GCC does not multiversion
// templates): a thin overload per dtype that calls an inline template body.
// Used by host/ops/conv2d.cpp, host/ops/gemm_rows.cpp, host/ops/attention.cpp.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NAQS_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NAQS_AVX2_CLONES
#endif
