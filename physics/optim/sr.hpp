// Stochastic reconfiguration (SR, Sorella 1998) and minSR (Chen & Heyl, Nat. Phys. 2024) for
// real parameters theta (P) and a complex log psi, from per-sample log-psi gradients
//   O_bk = d log psi(sigma_b) / d theta_k = O_re[b,k] + i O_im[b,k],   O_re, O_im (B,P)
// (O_im undefined for a real-positive wavefunction) and local energies
//   eps_b = E_loc(sigma_b) - mean_b E_loc   (eps_re, eps_im (B); eps_im may be undefined).
//
// Definitions (all averages are (1/B) sum_b; Obar = O - mean_b O, the centred gradients):
//   S_kl = Re < Obar_k^* Obar_l > = (Obar_re^T Obar_re + Obar_im^T Obar_im)_kl / B     (P,P)
//   F_k  = Re < Obar_k^* eps >   = (Obar_re^T eps_re + Obar_im^T eps_im)_k / B         (P)
//        = half the energy gradient dE/dtheta_k = 2 Re <(E_loc - E)^* O_k>.
//   SR direction d solves (S + lambda I) d = F; the update is theta <- theta - lr d.
//
// SR is solved matrix-free by conjugate gradients: S v = (Obar_re^T (Obar_re v) +
// Obar_im^T (Obar_im v)) / B + lambda v costs four (B,P) matrix-vector products and never forms
// the P x P matrix. centre_samples() does the centring once in place (the same subtraction of
// the column means the "centred terms" O^T(Ov)/B - mean(O) (mean(O) . v) would do per product,
// but cancellation-free).
//
// minSR works in sample space. Stack the real rows A = [Obar_re; Obar_im] / sqrt(B)  (2B,P)
// (only Obar_re, (B,P), for a real wavefunction) and f = [eps_re; eps_im] / sqrt(B). Then
// S = A^T A and F = A^T f, and the push-through identity
//   (A^T A + lambda I)^-1 A^T = A^T (A A^T + lambda I)^-1            (any lambda > 0)
// gives d = A^T x with (T + lambda I) x = f, T = A A^T (2B x 2B, or B x B when real). T is built
// with two GEMMs on the parameters' device, copied to the host in float64 and solved by
// Cholesky (LAPACK dpotrf/dpotrs); cost O(B^2 P + B^3), memory O(B^2): the choice when P >> B.
// The identity holds for every B and P with the same absolute shift lambda, so SR and minSR agree
// to rounding whether B > P or B < P (tests/unit/test_sr.cpp checks both; at lambda -> 0 only
// one of the two systems stays non-singular: S needs B > P, T needs B <= P).
//
// Data parallel (host/dist/reduce_blocks.hpp): with a SampleSplit over several ranks each rank
// passes its own sample rows O (B_r,P) and eps (B_r) (its split.my_rows()); B in the formulas
// above is the total split.n_rows(), and the column means, F and every S v product are sums over
// the split's reduction blocks (one GEMM per block, then the fixed pairwise tree of
// dist::reduce_blocks), so they are bitwise the same for any number of ranks, and CG then takes
// the same iterations everywhere. The P-vectors (f, v, d, out) are replicated, identical on every
// rank. minSR needs every pair of samples: its rows are gathered onto every rank (O(B P) memory
// per rank, as with one rank) and solved there. Without a split: one rank, one block.
// Tests: tests/unit/test_sr.cpp: CG vs a dense float64 solve of (S + lambda I) d = F on small
// random O (complex and real) to 1e-10 relative; minSR vs the same dense solve for B > P and
// B < P to 1e-10; the force vs 1/2 of the hand-computed energy gradient.
// tests/cluster/test_mpi.cpp: the same solves with the rows split over 2 MPI ranks are bitwise
// equal to the one-rank solve with the same blocks.
#pragma once
#include <cstdint>

#include "host/core/tensor.hpp"
#include "host/dist/reduce_blocks.hpp"

namespace naqs::optim {

struct SrOptions {
  double diag_shift = 1e-3;  // lambda (absolute, in units of S)
  int cg_max_iters = 500;
  double cg_rtol = 1e-12;    // stop when ||F - (S + lambda I) d|| <= cg_rtol ||F||
};

struct SrInfo {
  int iterations = 0;        // CG iterations (0 for minSR)
  double residual = 0;       // final ||F - (S + lambda I) d|| / ||F||
};

// o (B,P): subtracts the column means in place, o[b,k] -= (1/B) sum_b' o[b',k].
void centre_samples(Tensor& o, const dist::SampleSplit& split);
void centre_samples(Tensor& o);

// f (P) = (o_re^T eps_re + o_im^T eps_im) / B  (o_* centred; o_im/eps_im may be undefined).
void sr_force(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re, const Tensor& eps_im,
              Tensor& f, const dist::SampleSplit& split);
void sr_force(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re, const Tensor& eps_im,
              Tensor& f);

// out (P) = S v + lambda v (o_* centred, (B,P)).
void sr_matvec(const Tensor& o_re, const Tensor& o_im, const Tensor& v, double diag_shift,
               Tensor& out, const dist::SampleSplit& split);
void sr_matvec(const Tensor& o_re, const Tensor& o_im, const Tensor& v, double diag_shift,
               Tensor& out);

// Solves (S + lambda I) d = f by conjugate gradients from d = 0; d (P) is overwritten.
SrInfo sr_solve_cg(const Tensor& o_re, const Tensor& o_im, const Tensor& f,
                   const SrOptions& options, Tensor& d, const dist::SampleSplit& split);
SrInfo sr_solve_cg(const Tensor& o_re, const Tensor& o_im, const Tensor& f,
                   const SrOptions& options, Tensor& d);

// minSR: d (P) = A^T (A A^T + lambda I)^-1 [eps_re; eps_im] / sqrt(B) (o_* centred).
// The residual in SrInfo is that of the equivalent parameter-space system (one matvec).
SrInfo minsr_solve(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re,
                   const Tensor& eps_im, double diag_shift, Tensor& d,
                   const dist::SampleSplit& split);
SrInfo minsr_solve(const Tensor& o_re, const Tensor& o_im, const Tensor& eps_re,
                   const Tensor& eps_im, double diag_shift, Tensor& d);

}  // namespace naqs::optim
