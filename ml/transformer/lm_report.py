# The Pareto plot of `naqs lm report` (embedded in the naqs binary by CMake): validation bits
# per byte (mean ± std over seeds) against KV-cache bytes per token, one point per variant, the
# Pareto front (no other variant has both fewer bytes and a lower mean) joined by a line.
# Usage: python3 lm_report.py lm_report.csv lm_pareto.png
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = list(csv.DictReader(open(sys.argv[1])))
x = [float(r["kv_bytes_per_token"]) for r in rows]
y = [float(r["bpc_mean"]) for r in rows]
e = [float(r["bpc_std"]) for r in rows]
fig, ax = plt.subplots(figsize=(7, 4.5))
labels = []
for r, xi, yi, ei in zip(rows, x, y, e):
    cla = "-cla" in r["variant"]
    ax.errorbar(xi, yi, yerr=ei, fmt="s" if cla else "o", capsize=3,
                color="tab:red" if cla else "tab:blue")
    labels.append(ax.annotate(r["variant"], (xi, yi), textcoords="offset points",
                              xytext=(6, 4), fontsize=8))
front = sorted(
    (xi, yi) for xi, yi in zip(x, y)
    if not any(xj <= xi and yj < yi and (xj, yj) != (xi, yi) for xj, yj in zip(x, y)))
if front:
    ax.plot([p[0] for p in front], [p[1] for p in front], "k--", lw=1, label="Pareto front")
ax.set_xscale("log", base=2)
ax.set_xlabel("KV-cache bytes per token")
ax.set_ylabel("validation bits per byte (mean ± std over seeds)")
ax.set_title("KV bytes vs accuracy (squares: cross-layer attention)")
ax.legend()
fig.tight_layout()
# Variants that share a byte count (mqa-cla2 and mqa-dh16) sit close together: move a label
# down, a line at a time, until it overlaps no label placed before it.
fig.canvas.draw()
renderer = fig.canvas.get_renderer()
placed = []
for lab in sorted(labels, key=lambda a: (a.xy[0], -a.xy[1])):
    for _ in range(12):
        box = lab.get_window_extent(renderer)
        if not any(box.overlaps(b) for b in placed):
            break
        dx, dy = lab.xyann
        lab.xyann = (dx, dy - 9)
    placed.append(lab.get_window_extent(renderer))
fig.savefig(sys.argv[2], dpi=120, format="png")  # the path is a temp name
