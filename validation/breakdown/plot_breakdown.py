#!/usr/bin/python3
"""Plots breakdown.h5 of `naqs breakdown` (validation/breakdown/README.md) into a PNG.

usage: /usr/bin/python3 validation/breakdown/plot_breakdown.py breakdown.h5 breakdown.png

Four panels over h: <m_z>, <|m_z|> and <m_z^2> of every method with error bars against ED, and
the split-R-hat of m_z (log scale, warning threshold 1.1) with effective samples per second of
|m_z| (sampler time only) on a second axis.
"""
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {  # method: (marker, colour, label)
    "naqs_exact": ("o", "C0", "NAQS, exact sampling"),
    "naqs_metropolis": ("s", "C1", "same NAQS, Metropolis (local flips)"),
    "naqs_metropolis_gf": ("^", "C2", "same NAQS, Metropolis + global flips"),
    "rbm_metropolis": ("D", "C3", "RBM, Metropolis (local flips)"),
}


def main(path, png):
    with h5py.File(path, "r") as f:
        h = f["h"][:]
        n = f["system"].attrs["n_sites"]
        fig, ax = plt.subplots(2, 2, figsize=(11, 8), sharex=True)
        panels = [("mz", r"$\langle m_z\rangle$"), ("abs_mz", r"$\langle |m_z|\rangle$"),
                  ("mz2", r"$\langle m_z^2\rangle$")]
        for a, (q, label) in zip(ax.flat, panels):
            a.plot(h, f["exact/" + q][:], "k-", lw=1, label="ED")
            for m, (marker, colour, name) in STYLE.items():
                if m in f:
                    a.errorbar(h, f[m + "/" + q + "_mean"][:], yerr=f[m + "/" + q + "_err"][:],
                               marker=marker, color=colour, ls="none", capsize=2, label=name)
            a.set_ylabel(label)
        ax[0, 0].legend(fontsize=7)
        a = ax[1, 1]
        for m, (marker, colour, name) in STYLE.items():
            if m in f and m != "naqs_exact":
                a.semilogy(h, f[m + "/mz_r_hat"][:], marker=marker, color=colour, ls="-")
        a.axhline(1.1, color="k", ls=":", lw=1)
        a.set_ylabel(r"split-$\hat R$ of $m_z$ (dotted: 1.1)")
        b = a.twinx()
        for m, (marker, colour, name) in STYLE.items():
            if m in f:
                b.semilogy(h, f[m + "/abs_mz_ess_per_s"][:], marker=marker, color=colour, ls="--",
                           alpha=0.5)
        b.set_ylabel(r"ESS/s of $|m_z|$ (dashed)")
        for a in ax[1]:
            a.set_xlabel("h / J")
        fig.suptitle(f"TFIM chain N = {n}: exact autoregressive vs Metropolis sampling")
        fig.tight_layout()
        fig.savefig(png, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
