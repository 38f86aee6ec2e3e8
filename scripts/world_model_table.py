#!/usr/bin/env python3
"""Markdown table of world-model rollouts (naqs diffusion rollout outputs, group /rollout):
mean PSNR (dB, [-1, 1] scale; an exact frame's infinite PSNR counts as 100 dB, as the command
prints it) and MSE at a few imagined steps and the object-pixel F1, per file,
then the copy-last-frame baseline of the first file (every file rolls out the same episodes).
    world_model_table.py r1.h5 [r2.h5 ...] [--at 1,5,10,15]"""
import os
import sys
import h5py
import numpy as np


def main(argv):
    at = [1, 5, 10, 15]
    files = []
    it = iter(argv)
    for a in it:
        if a == "--at":
            at = [int(x) for x in next(it).split(",")]
        else:
            files.append(a)
    if not files:
        sys.exit(__doc__)
    head = ["model", "sampler", "evaluations/frame"]
    head += [f"PSNR +{k}" for k in at] + [f"MSE +{at[-1]}", f"object F1 +{at[0]}", f"object F1 +{at[-1]}"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))

    def row(name, sampler, evals, g):
        psnr, mse, f1 = np.minimum(g["psnr"][:], 100.0), g["mse"][:], g["object_f1"][:]
        h = psnr.shape[1]
        if max(at) > h:
            sys.exit(f"world_model_table.py: step {max(at)} beyond the horizon {h}")
        cells = [name, sampler, evals] + [f"{psnr[:, k - 1].mean():.1f}" for k in at]
        cells += [f"{mse[:, at[-1] - 1].mean():.4f}", f"{f1[:, at[0] - 1].mean():.2f}",
                  f"{f1[:, at[-1] - 1].mean():.2f}"]
        print("| " + " | ".join(cells) + " |")

    episodes = None
    for path in files:
        with h5py.File(path, "r") as f:
            cfg = dict(l.split(" = ", 1) for l in f.attrs["config"].split("\n") if " = " in l)
            model = os.path.join(os.path.dirname(path), cfg["checkpoint"])
            with h5py.File(model, "r") as m:
                objective = m["model"].attrs["objective"]
            steps, sampler = int(cfg["steps"]), cfg["sampler"]
            evals = steps if sampler == "euler" else 2 * steps - 1
            name = "DDPM" if objective == "ddpm" else "EDM"
            label = f"{sampler.capitalize()} {steps}" + (" (DDIM)" if name == "DDPM" else "")
            ep = f["rollout/episodes"][:]
            if episodes is None:
                episodes, first = ep, path
            elif not np.array_equal(ep, episodes):
                sys.exit(f"world_model_table.py: {path} rolls out other episodes than {first}")
            row(name, label, str(evals), f["rollout"])
    with h5py.File(files[0], "r") as f:
        row("copy the last real frame", "—", "0", f["rollout/copy_last"])
    print(f"\n{len(episodes)} held-out episodes")


if __name__ == "__main__":
    main(sys.argv[1:])
