# naqs report: plots and a Markdown summary of a collected sweep table (naqs collect).
# Embedded into the naqs binary at build time (workflow/report.cpp); `naqs report` runs it with
# /usr/bin/python3 (or --python). It can also be run directly:
#   python3 workflow/report.py collected.h5 OUTDIR
# Needs numpy, h5py and matplotlib (Debian: python3-numpy python3-h5py python3-matplotlib).
# Writes OUTDIR/energy_rel_err.png, abs_mz.png, mz2.png, x.png and summary.md; the caller
# (naqs report) has already refused to overwrite existing ones.
# Table layout: docs/HDF5_LAYOUT.md ("Collected sweep table"); energies in Pauli units.
import math
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Plot labels (matplotlib mathtext) and Markdown labels (no '<', which Markdown takes for HTML).
LABELS = {
    "energy": "$E$",
    "energy_per_site": "$E/N$",
    "abs_mz": r"$\langle |m_z| \rangle$",
    "mz2": r"$\langle m_z^2 \rangle$",
    "x": r"$\langle X \rangle$",
    "ms2": r"$\langle m_s^2 \rangle$",
}
MD_LABELS = {
    "energy": "E",
    "energy_per_site": "E/N",
    "abs_mz": "⟨\\|m_z\\|⟩",
    "mz2": "⟨m_z²⟩",
    "x": "⟨X⟩",
    "ms2": "⟨m_s²⟩",
}
STYLE = {"naqs": ("tab:blue", "o"), "mcmc": ("tab:orange", "s")}


def read_table(path):
    with h5py.File(path, "r") as f:
        t = f["table"]
        d = {
            "h": t["h"][:],
            "methods": t.attrs["methods"].split(","),
            "observables": t.attrs["observables"].split(","),
            "present": t["present"][:],
            "value": t["value"][:],
            "error": t["error"][:],
            "rel_err": t["rel_err"][:],
            "exact": t["exact"][:],
            "exact_method": t.attrs["exact_method"],
            "missing": f["collect/missing"].asstr()[()].split("\n"),
            "unreadable": f["collect/unreadable"].asstr()[()].split("\n"),
            "system": dict(f["system"].attrs),
            "n_tasks": int(f["collect"].attrs["n_tasks"]),
            "n_merged": int(f["collect"].attrs["n_merged"]),
        }
    # Plots and table in increasing h, whatever the task order (the embedded default sweeps down).
    order = np.argsort(d["h"], kind="stable")
    for key in ("h", "present", "value", "error", "rel_err", "exact"):
        d[key] = d[key][order]
    d["missing"] = [m for m in d["missing"] if m]
    d["unreadable"] = [m for m in d["unreadable"] if m]
    return d


def system_title(d):
    s = d["system"]
    lat = f"{s.get('lattice', '?')} {s.get('Lx', '?')}"
    if s.get("lattice") == "square":
        lat += f"x{s.get('Ly', '?')}"
    return f"TFIM {lat} {s.get('boundary', '')}, J = {s.get('J', '?')} (Pauli units)"


def column(d, name):
    return d["observables"].index(name)


def vmc_methods(d):
    return [m for m in d["methods"] if m != "ed"]


def plot_rel_energy(d, out):
    q = column(d, "energy")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    exact = d["exact"][:, q]
    drawn = False
    for mi, m in enumerate(d["methods"]):
        if m == "ed":
            continue
        ok = (d["present"][:, mi] == 1) & np.isfinite(exact)
        if not ok.any():
            continue
        rel = np.abs(d["value"][ok, mi, q] - exact[ok]) / np.abs(exact[ok])
        err = d["error"][ok, mi, q] / np.abs(exact[ok])
        color, marker = STYLE.get(m, (None, "^"))
        ax.errorbar(d["h"][ok], rel, yerr=err, fmt=marker + "-", color=color, capsize=3,
                    label=m)
        drawn = True
    ax.set_yscale("log")
    ax.set_xlabel("h / J")
    ax.set_ylabel("|E - E_exact| / |E_exact|")
    ax.set_title("relative energy error vs ED\n" + system_title(d), fontsize=10)
    if drawn:
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no VMC method with an exact energy", transform=ax.transAxes,
                ha="center")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_observable(d, name, out):
    q = column(d, name)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    exact = d["exact"][:, q]
    ok = np.isfinite(exact)
    if ok.any():
        ax.plot(d["h"][ok], exact[ok], "k.-", lw=1.2, label=f"ED ({d['exact_method']})")
    for mi, m in enumerate(d["methods"]):
        if m == "ed":
            continue
        sel = d["present"][:, mi] == 1
        if not sel.any():
            continue
        color, marker = STYLE.get(m, (None, "^"))
        ax.errorbar(d["h"][sel], d["value"][sel, mi, q], yerr=d["error"][sel, mi, q],
                    fmt=marker, color=color, capsize=3, label=m)
    ax.set_xlabel("h / J")
    ax.set_ylabel(LABELS.get(name, name))
    ax.set_title(f"{LABELS.get(name, name)} against h\n" + system_title(d), fontsize=10)
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def fmt_estimate(v, e):
    if not math.isfinite(v):
        return "-"
    if not math.isfinite(e) or e == 0:
        return f"{v:.8g}"
    return f"{v:.8g} ± {e:.2g}"


def fmt_num(v, spec):
    return "-" if not math.isfinite(v) else format(v, spec)


def summary_markdown(d, collected):
    cols = ["energy_per_site", "abs_mz", "mz2", "x"]
    qe = column(d, "energy")
    lines = [
        "# naqs sweep summary",
        "",
        f"System: {system_title(d)}. Source: `{os.path.basename(collected)}`; "
        f"{d['n_merged']} of {d['n_tasks']} tasks merged. Exact values: {d['exact_method']}.",
        "",
    ]
    if d["missing"] or d["unreadable"]:
        lines.append("Not merged:")
        lines += [f"- missing: `{m}`" for m in d["missing"]]
        lines += [f"- unreadable: `{m}`" for m in d["unreadable"]]
        lines.append("")
    header = ["h", "method", "rel. err E"] + [MD_LABELS[c] for c in cols]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for hi, h in enumerate(d["h"]):
        for mi, m in enumerate(d["methods"]):
            if d["present"][hi, mi] != 1:
                row = [f"{h:g}", m, "(missing)"] + ["-"] * len(cols)
            else:
                row = [f"{h:g}", m, fmt_num(d["rel_err"][hi, mi, qe], ".2e")]
                for c in cols:
                    q = column(d, c)
                    row.append(fmt_estimate(d["value"][hi, mi, q], d["error"][hi, mi, q]))
            lines.append("| " + " | ".join(row) + " |")
        if "ed" not in d["methods"]:
            row = [f"{h:g}", "exact", "0"] + [fmt_num(d["exact"][hi, column(d, c)], ".8g")
                                               for c in cols]
            lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "Errors are one standard error of the final observables' samples. "
        "Plots: `energy_rel_err.png`, `abs_mz.png`, `mz2.png`, `x.png`.",
        "",
    ]
    return "\n".join(lines)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: report.py COLLECTED.h5 OUTDIR\n")
        return 2
    collected, outdir = argv[1], argv[2]
    d = read_table(collected)
    os.makedirs(outdir, exist_ok=True)
    written = []
    path = os.path.join(outdir, "energy_rel_err.png")
    plot_rel_energy(d, path)
    written.append(path)
    for name in ("abs_mz", "mz2", "x"):
        path = os.path.join(outdir, name + ".png")
        plot_observable(d, name, path)
        written.append(path)
    path = os.path.join(outdir, "summary.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(summary_markdown(d, collected))
    written.append(path)
    for p in written:
        print("report: wrote " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
