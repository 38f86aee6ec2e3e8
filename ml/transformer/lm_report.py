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
for r, xi, yi, ei in zip(rows, x, y, e):
    cla = "-cla" in r["variant"]
    ax.errorbar(xi, yi, yerr=ei, fmt="s" if cla else "o", capsize=3,
                color="tab:red" if cla else "tab:blue")
    ax.annotate(r["variant"], (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
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
fig.savefig(sys.argv[2], dpi=120, format="png")  # the path is a temp name
