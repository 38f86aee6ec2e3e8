#!/usr/bin/env python3
"""numpy reference of the representation-alignment metrics (ml/align/align.hpp), written from the
definitions of Huh et al. 2024, "The Platonic Representation Hypothesis" (arXiv:2405.07987),
dense and direct: full N x N Gram matrices, a stable argsort for the neighbours, dense masks.
numpy and h5py only (Debian: python3-numpy python3-h5py).

Usage: align_reference.py IN.h5 OUT.h5
  IN.h5:  /a (N, Da), /b (N, Db) float64 raw features; attributes k, quantile.
  OUT.h5: /prep_a, /prep_b (preprocessed features), /knn_a, /knn_b (N, k) int32 neighbour lists,
          /overlap (N,) int32 |knn_a(i) ∩ knn_b(i)|, /scores/<metric> scalar float64.
Also importable: time_mutual_knn(a, b, k, q) for bench/bench_align.
"""
import sys

import numpy as np

METRICS = ["mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka",
           "cknna"]


def preprocess(x, q):
    """Clamp each feature to its q-quantile of |x| (q = 1: no clamp), then L2-normalise rows
    (an all-zero row stays zero)."""
    x = np.array(x, dtype=np.float64)
    if q < 1:
        t = np.quantile(np.abs(x), q, axis=0)  # numpy's default linear interpolation
        x = np.clip(x, -t, t)
    norm = np.sqrt(np.sum(x * x, axis=1, keepdims=True))
    return np.where(norm > 0, x / np.where(norm > 0, norm, 1.0), 0.0)


def knn(x, k):
    """k nearest neighbours by cosine similarity (rows normalised), itself excluded, descending,
    ties to the lower index (stable sort of the negated similarities)."""
    g = x @ x.T
    np.fill_diagonal(g, -np.inf)
    order = np.argsort(-g, axis=1, kind="stable")
    return order[:, :k].astype(np.int32), g


def mutual_knn(ka, kb):
    n, k = ka.shape
    ma = np.zeros((n, n))
    mb = np.zeros((n, n))
    rows = np.arange(n)[:, None]
    ma[rows, ka] = 1
    mb[rows, kb] = 1
    overlap = (ma * mb).sum(axis=1)
    return overlap.sum() / (n * k), overlap.astype(np.int32)


def cycle_knn(ka, kb):
    n = ka.shape[0]
    # i -> j in knn_B(i) -> knn_A(j) contains i ?
    back = ka[kb] == np.arange(n)[:, None, None]
    return back.reshape(n, -1).any(axis=1).mean()


def lcs(x, y):
    m = len(x)
    dp = np.zeros((m + 1, m + 1), dtype=np.int64)
    for i in range(1, m + 1):
        for j in range(1, m + 1):
            dp[i, j] = dp[i - 1, j - 1] + 1 if x[i - 1] == y[j - 1] else max(dp[i - 1, j],
                                                                               dp[i, j - 1])
    return dp[m, m]


def levenshtein(x, y):
    m = len(x)
    dp = np.zeros((m + 1, m + 1), dtype=np.int64)
    dp[:, 0] = np.arange(m + 1)
    dp[0, :] = np.arange(m + 1)
    for i in range(1, m + 1):
        for j in range(1, m + 1):
            dp[i, j] = min(dp[i - 1, j] + 1, dp[i, j - 1] + 1,
                           dp[i - 1, j - 1] + (0 if x[i - 1] == y[j - 1] else 1))
    return dp[m, m]


def lcs_knn(ka, kb):
    n, k = ka.shape
    return sum(lcs(ka[i], kb[i]) for i in range(n)) / (n * k)


def edit_distance_knn(ka, kb):
    n, k = ka.shape
    return 1.0 - sum(levenshtein(ka[i], kb[i]) for i in range(n)) / (n * k)


def hsic_biased(K, L):
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H)


def hsic_unbiased(K, L):
    """Song et al. 2012, on the Gram matrices with a zero diagonal."""
    n = K.shape[0]
    Kt = K.copy()
    Lt = L.copy()
    np.fill_diagonal(Kt, 0)
    np.fill_diagonal(Lt, 0)
    value = (np.sum(Kt * Lt.T) + np.sum(Kt) * np.sum(Lt) / ((n - 1) * (n - 2))
             - 2 * np.sum(Kt @ Lt) / (n - 2))
    return value / (n * (n - 3))


def ratio(kl, kk, ll):
    return kl / np.sqrt(kk * ll) if kk * ll > 0 else np.nan


def cka(xa, xb, unbiased):
    K = xa @ xa.T
    L = xb @ xb.T
    h = hsic_unbiased if unbiased else hsic_biased
    return ratio(h(K, L), h(K, K), h(L, L))


def cknna(xa, xb, ka, kb):
    """CKA restricted to pairs (i, j) with j among the k nearest neighbours of i in both."""
    n = xa.shape[0]
    K = xa @ xa.T
    L = xb @ xb.T
    rows = np.arange(n)[:, None]
    ma = np.zeros((n, n))
    mb = np.zeros((n, n))
    ma[rows, ka] = 1
    mb[rows, kb] = 1

    def align(K, L, mask):
        return hsic_unbiased(mask * K, mask * L)

    return ratio(align(K, L, ma * mb), align(K, K, ma), align(L, L, mb))


def all_scores(a, b, k, q):
    xa, xb = preprocess(a, q), preprocess(b, q)
    ka, _ = knn(xa, k)
    kb, _ = knn(xb, k)
    mk, overlap = mutual_knn(ka, kb)
    scores = {
        "mutual_knn": mk,
        "cycle_knn": cycle_knn(ka, kb),
        "lcs_knn": lcs_knn(ka, kb),
        "edit_distance_knn": edit_distance_knn(ka, kb),
        "cka": cka(xa, xb, False),
        "unbiased_cka": cka(xa, xb, True),
        "cknna": cknna(xa, xb, ka, kb),
    }
    return xa, xb, ka, kb, overlap, scores


def time_mutual_knn(a, b, k, q):
    """mutual k-NN alone, as the benchmark times it: preprocess, two Gram matrices, two argsorts."""
    xa, xb = preprocess(a, q), preprocess(b, q)
    ka, _ = knn(xa, k)
    kb, _ = knn(xb, k)
    return mutual_knn(ka, kb)[0]


def main():
    import h5py
    src, dst = sys.argv[1], sys.argv[2]
    with h5py.File(src, "r") as f:
        a = f["a"][...]
        b = f["b"][...]
        k = int(f.attrs["k"])
        q = float(f.attrs["quantile"])
    xa, xb, ka, kb, overlap, scores = all_scores(a, b, k, q)
    with h5py.File(dst, "w") as f:
        f["prep_a"] = xa
        f["prep_b"] = xb
        f["knn_a"] = ka
        f["knn_b"] = kb
        f["overlap"] = overlap
        for name, v in scores.items():
            f["scores/" + name] = np.float64(v)


if __name__ == "__main__":
    main()
