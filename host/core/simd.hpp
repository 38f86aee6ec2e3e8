// NAQS_AVX2_CLONES: compile a hot loop twice on x86-64 (AVX2 and the baseline SSE2), the
// variant chosen once at load time (GCC/Clang target_clones), so the portable build still uses
// 256-bit vectors where the machine has them. AVX2 without FMA rounds exactly as SSE2 (a
// multiply and an add, each rounded; the "avx2" target does not enable FMA, and the files that
// need row-count-independent sums are compiled with -ffp-contract=off), so results do not depend
// on the machine's vector width. Put it on non-template functions (GCC does not multiversion
// templates): a thin overload per dtype that calls an inline template body.
// Used by host/ops/gemm_rows.cpp, host/ops/attention.cpp.
//
// NAQS_FMA_TARGET + cpu_has_avx2_fma(): hand-written AVX2+FMA kernels (host/ops/conv2d.cpp's
// micro-kernel, host/ops/elementwise.cpp's exp) compiled with that target on x86-64 and called
// only where the CPU has both (checked once per process). Such a kernel rounds differently from
// its portable twin (one rounding per multiply-add), so results are fixed per machine, not
// across machines; within a process every call takes the same branch.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NAQS_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#define NAQS_HAVE_FMA_KERNELS 1
#define NAQS_FMA_TARGET __attribute__((target("avx2,fma")))
#else
#define NAQS_AVX2_CLONES
#define NAQS_HAVE_FMA_KERNELS 0
#define NAQS_FMA_TARGET
#endif

namespace naqs {
// Whether the NAQS_FMA_TARGET kernels run on this CPU (false where they are not compiled).
inline bool cpu_has_avx2_fma() {
#if NAQS_HAVE_FMA_KERNELS
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}
}  // namespace naqs
