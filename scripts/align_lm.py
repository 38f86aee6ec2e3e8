#!/usr/bin/env python3
"""Application 2 of issue 19 (docs/ML.md, "Representation alignment"): representation alignment of
the CLA study's language models against their validation loss.

Usage: align_lm.py STUDYDIR OUTDIR [NAQS]      (NAQS: the naqs binary, default build-cpu/naqs;
                                               JOBS=2 parallel naqs processes, each niced, one
                                               OpenMP thread)

STUDYDIR holds `naqs lm sweep` outputs <variant>_seed<s>.h5; only finished runs (with /results)
are used, and STUDYDIR is only read. Steps, each skipped when its output exists (rerun the script
when more runs have finished):
  1. windows: `naqs features --model <first run> --windows N --context T --seed 1` draws N disjoint
     held-out windows; every other model reads them from that file (--inputs), so all models see
     the same bytes (the /ids of every file are the same).
  2. features of every finished model, and of each variant's seed-1 model at its random
     initialisation (--random-init: the untrained baseline).
  3. `naqs align --metric mutual_knn --k K --null 200` for every pair of trained models, and for
     each random-initialised model against the best trained model (lowest validation bpc).
  4. summary: OUTDIR/summary.json and markdown tables on stdout: per model its bpc, its
     alignment with the best model, mean alignment with all others; Spearman rank correlations
     across models (with a permutation p-value); same-variant-different-seed pairs against
     cross-variant pairs; every score beside N, k, chance and the null mean +- std.
numpy and h5py only.
"""
import concurrent.futures as cf
import glob
import itertools
import json
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

study, out = sys.argv[1], sys.argv[2]
naqs = sys.argv[3] if len(sys.argv) > 3 else "build-cpu/naqs"
N = int(os.environ.get("WINDOWS", "1024"))
T = int(os.environ.get("CONTEXT", "128"))
K = int(os.environ.get("K", "10"))
NULL = int(os.environ.get("NULL", "200"))
JOBS = int(os.environ.get("JOBS", "2"))
ENV = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
os.makedirs(os.path.join(out, "features"), exist_ok=True)
os.makedirs(os.path.join(out, "align"), exist_ok=True)
walls = {}


def run(tag, *args):
    t0 = time.time()
    subprocess.run(["nice", "-n", "10", naqs, *args], check=True, stdout=subprocess.DEVNULL,
                   env=ENV)
    walls[tag] = time.time() - t0


def finished_runs():
    runs = {}
    for p in sorted(glob.glob(os.path.join(study, "*_seed*.h5"))):
        m = re.fullmatch(r"(.+)_seed(\d+)\.h5", os.path.basename(p))
        if not m:
            continue
        try:
            with h5py.File(p, "r") as f:
                if "results/val_bpc" not in f or "model/params" not in f:
                    continue
                bpc = float(f["results/val_bpc"][()])
                bpc_err = float(f["results/val_bpc_err"][()])
                kvb = int(f["model"].attrs["kv_bytes_per_token"])
        except OSError:
            continue  # being written
        runs[f"{m.group(1)}_seed{m.group(2)}"] = dict(path=p, variant=m.group(1),
                                                      seed=int(m.group(2)), bpc=bpc,
                                                      bpc_err=bpc_err, kv_bytes=kvb)
    return runs


def feat_path(name):
    return os.path.join(out, "features", name + ".h5")


def features(name, model, windows_file=None, random_init=False):
    dst = feat_path(name)
    if os.path.exists(dst):
        return
    args = ["features", "--model", model, "--out", dst]
    if windows_file:
        args += ["--inputs", windows_file]
    else:
        args += ["--windows", str(N), "--context", str(T), "--seed", "1"]
    if random_init:
        args.append("--random-init")
    run("features " + name, *args)


def align(a, b):
    dst = os.path.join(out, "align", f"{a}__{b}.h5")
    if not os.path.exists(dst):
        run(f"align {a} {b}", "align", feat_path(a), feat_path(b), "--metric", "mutual_knn",
            "--k", str(K), "--null", str(NULL), "--no-png", "--out", dst)
    with h5py.File(dst, "r") as f:
        d, nl = f["alignment/mutual_knn"], f["null/mutual_knn"]
        return dict(best=float(d.attrs["best"]), la=int(d.attrs["best_layer_a"]),
                    lb=int(d.attrs["best_layer_b"]), n=int(d.attrs["n"]), k=int(d.attrs["k"]),
                    chance=float(d.attrs["chance"]), null_mean=float(nl.attrs["mean"]),
                    null_std=float(nl.attrs["std"]), matrix=f["alignment/mutual_knn"][...].tolist())


def spearman(x, y, n_perm=20000, seed=0):
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    rho = float(np.corrcoef(rx, ry)[0, 1])
    rng = np.random.default_rng(seed)
    perm = np.array([np.corrcoef(rx, rng.permutation(ry))[0, 1] for _ in range(n_perm)])
    p = float((np.sum(np.abs(perm) >= abs(rho) - 1e-12) + 1) / (n_perm + 1))
    return rho, p


def main():
    t_start = time.time()
    runs = finished_runs()
    if not runs:
        sys.exit(f"no finished runs (with /results) in {study}")
    names = sorted(runs)
    first = "mha_seed1" if "mha_seed1" in runs else names[0]
    features(first, runs[first]["path"])  # draws the windows
    wfile = feat_path(first)
    variants = sorted({r["variant"] for r in runs.values()})
    jobs = [(n, runs[n]["path"], wfile, False) for n in names if n != first]
    # the untrained baselines: each variant's lowest seed at its initialisation, and every seed
    # of the best model's variant (the same seed initialises wte, the first parameter, alike in
    # every variant: Philox stream 0 of that seed)
    best = min(names, key=lambda n: runs[n]["bpc"])
    for v in variants:
        s = min(r["seed"] for r in runs.values() if r["variant"] == v)
        jobs.append((f"random_{v}_seed{s}", runs[f"{v}_seed{s}"]["path"], wfile, True))
    for n in names:
        if runs[n]["variant"] == runs[best]["variant"] and f"random_{n}" not in [j[0] for j in jobs]:
            jobs.append((f"random_{n}", runs[n]["path"], wfile, True))
    t0 = time.time()
    with cf.ThreadPoolExecutor(JOBS) as ex:
        list(ex.map(lambda j: features(*j), jobs))
    t_features = time.time() - t0
    pairs = list(itertools.combinations(names, 2))
    randoms = [j[0] for j in jobs if j[3]]
    rpairs = [(r, best) for r in randoms] + list(itertools.combinations(randoms, 2))
    t0 = time.time()
    with cf.ThreadPoolExecutor(JOBS) as ex:
        res = dict(zip(pairs + rpairs, ex.map(lambda p: align(*p), pairs + rpairs)))
    t_align = time.time() - t0

    def score(a, b):
        return res[(a, b)] if (a, b) in res else res[(b, a)]

    with h5py.File(wfile, "r") as f:
        n_windows, ctx = f["windows/bytes"].shape
        layer_names = f.attrs["layer_names"]
    some = next(iter(res.values()))
    chance = some["chance"]
    print(f"# N = {n_windows} windows of {ctx} bytes, k = {K}, chance k/(N-1) = {chance:.4f}, "
          f"{NULL} permutations; {len(names)} models, best = {best} "
          f"({runs[best]['bpc']:.4f} bpc); layers {layer_names}\n")
    print("| model | val bpc | mutual k-NN with best (layers) | null mean ± std | "
          "mean with all others |")
    print("|---|---|---|---|---|")
    with_best, mean_all, bpcs, others = [], [], [], [n for n in names if n != best]
    for n in names:
        allv = [score(n, m)["best"] for m in names if m != n]
        if n == best:
            print(f"| {n} | {runs[n]['bpc']:.4f} | (best) | | {np.mean(allv):.3f} |")
            continue
        s = score(n, best)
        la, lb = (s["la"], s["lb"]) if (n, best) in res else (s["lb"], s["la"])
        print(f"| {n} | {runs[n]['bpc']:.4f} | {s['best']:.3f} ({la},{lb}) | "
              f"{s['null_mean']:.4f} ± {s['null_std']:.4f} | {np.mean(allv):.3f} |")
    for n in names:
        mean_all.append(np.mean([score(n, m)["best"] for m in names if m != n]))
    for n in others:
        with_best.append(score(n, best)["best"])
        bpcs.append(runs[n]["bpc"])
    rho_best, p_best = spearman(np.array(bpcs), np.array(with_best))
    rho_all, p_all = spearman(np.array([runs[n]["bpc"] for n in names]), np.array(mean_all))
    same = [score(a, b)["best"] for a, b in pairs if runs[a]["variant"] == runs[b]["variant"]]
    cross = [score(a, b)["best"] for a, b in pairs if runs[a]["variant"] != runs[b]["variant"]]
    print()
    print(f"Spearman(bpc, alignment with best) over {len(others)} models: rho = {rho_best:.3f} "
          f"(permutation p = {p_best:.3g})")
    print(f"Spearman(bpc, mean alignment with all others) over {len(names)} models: "
          f"rho = {rho_all:.3f} (permutation p = {p_all:.3g})")
    print(f"same variant, different seed: {np.mean(same):.3f} ± {np.std(same, ddof=1):.3f} "
          f"({len(same)} pairs, range {min(same):.3f}-{max(same):.3f})" if len(same) > 1 else
          f"same variant pairs: {same}")
    print(f"different variants: {np.mean(cross):.3f} ± {np.std(cross, ddof=1):.3f} "
          f"({len(cross)} pairs, range {min(cross):.3f}-{max(cross):.3f})")
    for title, keep in [("different variants, same seed", True),
                        ("different variants, different seeds", False)]:
        v = [score(a, b)["best"] for a, b in pairs if runs[a]["variant"] != runs[b]["variant"]
             and (runs[a]["seed"] == runs[b]["seed"]) == keep]
        print(f"{title}: {np.mean(v):.3f} ± {np.std(v, ddof=1):.3f} ({len(v)} pairs)")
    nulls = [r["null_mean"] for r in res.values()]
    nstd = [r["null_std"] for r in res.values()]
    print(f"null means over all {len(res)} pairs: {np.min(nulls):.4f}-{np.max(nulls):.4f} "
          f"(std {np.min(nstd):.4f}-{np.max(nstd):.4f}); chance {chance:.4f}")
    print("\n| random-init model | with best trained (layers) | null mean ± std |")
    print("|---|---|---|")
    for r in randoms:
        s = score(r, best)
        print(f"| {r} | {s['best']:.3f} ({s['la']},{s['lb']}) | "
              f"{s['null_mean']:.4f} ± {s['null_std']:.4f} |")
    for title, keep in [("same seed", True), ("different seeds", False)]:
        rr = [score(a, b)["best"] for a, b in itertools.combinations(randoms, 2)
              if (a.rsplit("seed", 1)[1] == b.rsplit("seed", 1)[1]) == keep]
        if rr:
            print(f"random-init vs random-init, {title} ({len(rr)} pairs): {np.mean(rr):.3f} ± "
                  f"{np.std(rr, ddof=1) if len(rr) > 1 else 0:.3f}, range {min(rr):.3f}-{max(rr):.3f}")
    # best layer pairs among trained pairs
    lp = {}
    for (a, b) in pairs:
        s = res[(a, b)]
        lp[(s["la"], s["lb"])] = lp.get((s["la"], s["lb"]), 0) + 1
    print("best layer pairs (trained pairs):",
          ", ".join(f"{k}: {v}" for k, v in sorted(lp.items(), key=lambda kv: -kv[1])))
    # where the alignment lives: the mean layer-pair matrix, and the rank correlations with the
    # best model at fixed layer pairs (the last blocks; the best pair without the embedding)
    def mat(a, b):
        m = np.array(score(a, b)["matrix"])
        return m if (a, b) in res else m.T
    L = mat(names[0], names[1]).shape[0]
    same_m = np.mean([mat(a, b) for a, b in pairs if runs[a]["variant"] == runs[b]["variant"]], 0)
    cross_m = np.mean([mat(a, b) for a, b in pairs if runs[a]["variant"] != runs[b]["variant"]], 0)
    rand_m = np.mean([mat(r, best) for r in randoms], 0)
    names_l = str(layer_names).split(",")
    for title, m in [("same variant, different seed", same_m), ("different variants", cross_m),
                     ("random-init (rows) vs best trained (columns)", rand_m)]:
        print(f"\nmean mutual k-NN per layer pair, {title}:")
        print("| | " + " | ".join(names_l) + " |")
        print("|---" * (L + 1) + "|")
        for i in range(L):
            print(f"| {names_l[i]} | " + " | ".join(f"{m[i, j]:.3f}" for j in range(L)) + " |")
    last = [mat(n, best)[L - 1, L - 1] for n in others]
    no_emb = [mat(n, best)[1:, 1:].max() for n in others]
    rho_last, p_last = spearman(np.array(bpcs), np.array(last))
    rho_ne, p_ne = spearman(np.array(bpcs), np.array(no_emb))
    print(f"\nSpearman(bpc, alignment with best at ({names_l[-1]}, {names_l[-1]})): "
          f"rho = {rho_last:.3f} (p = {p_last:.3g}); values {min(last):.3f}-{max(last):.3f}")
    print(f"Spearman(bpc, alignment with best, best pair without the embedding): "
          f"rho = {rho_ne:.3f} (p = {p_ne:.3g}); values {min(no_emb):.3f}-{max(no_emb):.3f}")
    # the per-variant mean
    print("\n| variant | KV bytes/token | bpc (mean over seeds) | mean alignment with best | "
          "mean seed-to-seed |")
    print("|---|---|---|---|---|")
    for v in variants:
        ms = [n for n in names if runs[n]["variant"] == v]
        wb = [score(n, best)["best"] for n in ms if n != best]
        ss = [score(a, b)["best"] for a, b in itertools.combinations(ms, 2)]
        print(f"| {v} | {runs[ms[0]]['kv_bytes']} | {np.mean([runs[n]['bpc'] for n in ms]):.4f} | "
              f"{np.mean(wb):.3f} | {np.mean(ss) if ss else float('nan'):.3f} |")
    wall = time.time() - t_start
    print(f"\nwall: features {t_features:.0f} s, alignments {t_align:.0f} s, total {wall:.0f} s "
          f"({JOBS} jobs, 1 thread each, nice 10)")
    summary = dict(n=int(n_windows), context=int(ctx), k=K, chance=chance, null=NULL, best=best,
                   runs=runs, spearman_best=[rho_best, p_best], spearman_all=[rho_all, p_all],
                   same_variant=same, cross_variant=cross,
                   spearman_last_layer=[rho_last, p_last],
                   spearman_without_embedding=[rho_ne, p_ne],
                   mean_matrix_same=same_m.tolist(), mean_matrix_cross=cross_m.tolist(),
                   mean_matrix_random_vs_best=rand_m.tolist(),
                   pairs={f"{a}|{b}": r for (a, b), r in res.items()}, walls=walls,
                   wall_features=t_features, wall_align=t_align)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)


main()
