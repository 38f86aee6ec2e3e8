#!/usr/bin/env python3
"""Application 1 of issue 19, second half: features and alignment of the trainings that
scripts/align_tfim.sh left in OUTDIR (docs/ML.md, "Representation alignment").

Usage: align_tfim_analyse.py OUTDIR [NAQS]   (NAQS: the naqs binary, default build-cpu/naqs)

For h in 0.5, 1, 1.5 and two input sets (all 1024 samples; the distinct configurations among them,
first occurrences in sample order): features of NAQS conv1d seeds 1, 2 and the RBM at the kept
checkpoints and at their random initialisation; `naqs align --metric all --k 10 --null 200` for
the final models (s1 vs RBM, s1 vs s2, s2 vs RBM, random-init s1 vs trained RBM, random vs
random) and along training (s1 vs RBM and s1 vs s2 at the same step). Writes OUTDIR/summary.json
and prints markdown tables (each score beside N, k, chance, the null mean +- std).
numpy and h5py only.
"""
import json
import os
import subprocess
import sys

import h5py
import numpy as np

out = sys.argv[1]
naqs = sys.argv[2] if len(sys.argv) > 2 else "build-cpu/naqs"
STEPS = [25, 50, 100, 200, 300, 500]
METRICS = ["mutual_knn", "cycle_knn", "lcs_knn", "edit_distance_knn", "cka", "unbiased_cka",
           "cknna"]


def run(*args):
    subprocess.run([naqs, *args], check=True, stdout=subprocess.DEVNULL)


def distinct_inputs(src, dst):
    if os.path.exists(dst):
        return
    with h5py.File(src, "r") as f:
        bits = f["samples/bits"][...]
        sigma = f["samples/sigma"][...]
    _, first = np.unique(bits, return_index=True)
    keep = np.sort(first)
    tmp = dst + ".tmp"
    with h5py.File(tmp, "w") as g:
        g["samples/sigma"] = sigma[keep]
        g["samples/ids"] = keep.astype(np.int64)  # the sample index in cfg.h5
        g["samples/bits"] = bits[keep]
        g["samples"].attrs["method"] = "distinct configurations of " + src + " (first occurrences)"
    os.replace(tmp, dst)


def features(ckpt, inputs, dst, random_init=False):
    if not os.path.exists(dst):
        run("features", "--checkpoint", ckpt, "--inputs", inputs, "--out", dst,
            *(["--random-init"] if random_init else []))
    return dst


def align(a, b, dst):
    if not os.path.exists(dst):
        run("align", a, b, "--metric", "all", "--k", "10", "--null", "200", "--out", dst,
            "--no-png")
    res = {}
    with h5py.File(dst, "r") as f:
        for m in METRICS:
            d = f["alignment/" + m]
            nl = f["null/" + m]
            res[m] = dict(best=float(d.attrs["best"]), la=int(d.attrs["best_layer_a"]),
                          lb=int(d.attrs["best_layer_b"]), n=int(d.attrs["n"]),
                          k=int(d.attrs["k"]), chance=float(d.attrs["chance"]),
                          null_mean=float(nl.attrs["mean"]), null_std=float(nl.attrs["std"]))
    return res


def rel_err(run_dir, step):
    """Relative energy error of the parameters after `step` updates: the trace row of step
    index `step` (0-based; measured before that step's update), or the final estimate."""
    with h5py.File(os.path.join(run_dir, "run.h5"), "r") as f:
        t = f["train"]
        rows = np.where(t["step"][...] == step)[0]
        if len(rows):
            return float(t["energy_rel_err"][rows[0]])
        return float(f["results/energy_rel_err"][()])


def final_rel_err(run_dir):
    with h5py.File(os.path.join(run_dir, "run.h5"), "r") as f:
        return float(f["results/energy_rel_err"][()])


summary = {}
for h in ["0.5", "1", "1.5"]:
    hd = os.path.join(out, "h" + h)
    cfg = os.path.join(hd, "cfg.h5")
    inputs = {"all": cfg, "distinct": os.path.join(hd, "cfg_distinct.h5")}
    distinct_inputs(cfg, inputs["distinct"])
    fd = os.path.join(hd, "features")
    ad = os.path.join(hd, "align")
    os.makedirs(fd, exist_ok=True)
    os.makedirs(ad, exist_ok=True)
    runs = {m: os.path.join(hd, m) for m in ["naqs_s1", "naqs_s2", "rbm_s1"]}
    entry = {"final_rel_err": {m: final_rel_err(d) for m, d in runs.items()},
             "wall_seconds": {m: float(open(os.path.join(d, "wall_seconds")).read())
                              for m, d in runs.items()}}
    for iname, ipath in inputs.items():
        with h5py.File(ipath, "r") as f:
            n_inputs = int(f["samples/sigma"].shape[0])

        def feat(m, step=None, random_init=False):
            tag = "random" if random_init else "%05d" % step
            ck = os.path.join(runs[m], "ckpt_%05d.h5" % (500 if random_init else step))
            return features(ck, ipath, os.path.join(fd, "%s_%s_%s.h5" % (iname, m, tag)),
                            random_init)

        pairs = {
            "s1_vs_rbm": (feat("naqs_s1", 500), feat("rbm_s1", 500)),
            "s1_vs_s2": (feat("naqs_s1", 500), feat("naqs_s2", 500)),
            "s2_vs_rbm": (feat("naqs_s2", 500), feat("rbm_s1", 500)),
            "random_s1_vs_rbm": (feat("naqs_s1", random_init=True), feat("rbm_s1", 500)),
            "random_s1_vs_random_rbm": (feat("naqs_s1", random_init=True),
                                        feat("rbm_s1", random_init=True)),
        }
        final = {p: align(a, b, os.path.join(ad, "%s_%s.h5" % (iname, p)))
                 for p, (a, b) in pairs.items()}
        traj = []
        for step in STEPS:
            row = {"step": step,
                   "rel_err": {m: rel_err(d, step) for m, d in runs.items()},
                   "s1_vs_rbm": align(feat("naqs_s1", step), feat("rbm_s1", step),
                                      os.path.join(ad, "%s_traj_s1_rbm_%05d.h5" % (iname, step))),
                   "s1_vs_s2": align(feat("naqs_s1", step), feat("naqs_s2", step),
                                     os.path.join(ad, "%s_traj_s1_s2_%05d.h5" % (iname, step)))}
            traj.append(row)
        entry[iname] = {"n": n_inputs, "final": final, "trajectory": traj}
    summary[h] = entry
    print("h = %s done" % h, file=sys.stderr)

with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)


def cell(r):
    return "%.3f (%d,%d)" % (r["best"], r["la"], r["lb"])


for h, e in summary.items():
    print("\n### h = %s" % h)
    print("final relative energy errors: " + ", ".join(
        "%s %.2e" % (m, v) for m, v in e["final_rel_err"].items()) +
          "; training wall times: " + ", ".join("%s %.0f s" % (m, v)
                                                for m, v in e["wall_seconds"].items()))
    for iname in ["all", "distinct"]:
        d = e[iname]
        print("\ninputs: %s, N = %d, k = 10, chance k/(N-1) = %.4f\n" % (
            iname, d["n"], 10 / (d["n"] - 1)))
        print("| pair | " + " | ".join(METRICS) + " |")
        print("|---" * (len(METRICS) + 1) + "|")
        for p, res in d["final"].items():
            print("| %s | " % p + " | ".join(
                "%.3f (null %.3f±%.3f)" % (res[m]["best"], res[m]["null_mean"], res[m]["null_std"])
                for m in METRICS) + " |")
        print("\nalong training (best over layer pairs; relative energy error of the step's batch):\n")
        print("| step | rel.err s1 | s2 | rbm | mutual_knn s1-rbm | s1-s2 | cknna s1-rbm | s1-s2 "
              "| unbiased_cka s1-rbm | s1-s2 |")
        print("|---" * 10 + "|")
        for row in d["trajectory"]:
            r = row["rel_err"]
            print("| %d | %.1e | %.1e | %.1e | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |" % (
                row["step"], r["naqs_s1"], r["naqs_s2"], r["rbm_s1"],
                row["s1_vs_rbm"]["mutual_knn"]["best"], row["s1_vs_s2"]["mutual_knn"]["best"],
                row["s1_vs_rbm"]["cknna"]["best"], row["s1_vs_s2"]["cknna"]["best"],
                row["s1_vs_rbm"]["unbiased_cka"]["best"], row["s1_vs_s2"]["unbiased_cka"]["best"]))
