#!/usr/bin/env python3
"""Tabulates bench/run_naqs_vs_torch.sh's raw.csv: for every metric, N and thread count, the
median and the minimum over the rounds for naqs and for the PyTorch peer, the ratio of the
medians (naqs/torch), and the load average seen during the measurements; with cpu.csv, the
cores each program kept busy (user + system CPU time over wall time, median over the rounds).
Markdown on stdout.

Usage: naqs_vs_torch_table.py raw.csv [cpu.csv]
"""
import csv
import os
import statistics
import sys

METRICS = [('cached_samples_per_s', 'cached sampling, samples/s'),
           ('naive_samples_per_s', 'naive sampling, samples/s'),
           ('eloc_configs_per_s', 'local energies (TFIM), connected configurations/s')]


def main():
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f))
    values = {}  # (impl, threads, N, metric) -> [values]
    loads = [float(r['load1']) for r in rows if float(r['load1']) >= 0]
    for r in rows:
        for m, _ in METRICS:
            v = float(r[m])
            if v > 0:
                values.setdefault((r['impl'], int(r['threads']), int(r['N']), m), []).append(v)
    keys = sorted({(t, n) for (_, t, n, _) in values})
    commits = sorted({r['commit'] for r in rows})
    rounds = len({r['rep'] for r in rows})
    print(f'naqs vs PyTorch peer, CPU, f32, width 16, depth 3, batch 256; {rounds} rounds; '
          f'{", ".join(commits)}')
    policy = os.environ.get('OMP_WAIT_POLICY', 'unset (libgomp default: spin-wait, then sleep)')
    print(f'OMP_WAIT_POLICY: {policy}')
    if loads:
        print(f'load average (1 min) during the measurements: median {statistics.median(loads):.2f},'
              f' min {min(loads):.2f}, max {max(loads):.2f}')

    def stat(impl, t, n, m):
        v = values.get((impl, t, n, m))
        return (statistics.median(v), min(v)) if v else (None, None)

    def fmt(x):
        return '-' if x is None else f'{x:.1f}'

    for m, title in METRICS:
        if not any(k[3] == m for k in values):
            continue
        print(f'\n### {title}\n')
        print('| N | threads | naqs median | naqs min | torch median | torch min | naqs/torch |')
        print('|---|---|---|---|---|---|---|')
        for t, n in keys:
            a, a_min = stat('naqs', t, n, m)
            b, b_min = stat('torch', t, n, m)
            ratio = f'{a / b:.2f}' if a and b else '-'
            print(f'| {n} | {t} | {fmt(a)} | {fmt(a_min)} | {fmt(b)} | {fmt(b_min)} | {ratio} |')
    if any(k[3] == 'naive_samples_per_s' for k in values):
        print('\n### cached / naive sampling (ratio of the medians)\n')
        print('| N | threads | naqs | torch |')
        print('|---|---|---|---|')
        for t, n in keys:
            cells = []
            for impl in ('naqs', 'torch'):
                c, _ = stat(impl, t, n, 'cached_samples_per_s')
                v, _ = stat(impl, t, n, 'naive_samples_per_s')
                cells.append(f'{c / v:.1f}' if c and v else '-')
            print(f'| {n} | {t} | {cells[0]} | {cells[1]} |')
    if len(sys.argv) > 2:
        cores = {}  # (impl, threads, N, metric) -> [(user + sys) / wall]
        with open(sys.argv[2]) as f:
            for r in csv.DictReader(f):
                wall = float(r['wall_s'])
                if wall > 0:
                    key = (r['impl'], int(r['threads']), int(r['N']), r['metric'])
                    cores.setdefault(key, []).append((float(r['user_s']) + float(r['sys_s'])) / wall)
        metrics = sorted({k[3] for k in cores})
        print('\n### cores kept busy: (user + system CPU time) / wall time of each program run '
              '(set-up included), median, naqs / torch\n')
        print('| N | threads | ' + ' | '.join(metrics) + ' |')
        print('|---|---|' + '---|' * len(metrics))
        for t, n in sorted({(k[1], k[2]) for k in cores}):
            cells = []
            for m in metrics:
                a, b = (cores.get((i, t, n, m)) for i in ('naqs', 'torch'))
                cells.append(f'{statistics.median(a) if a else 0:.2f} / '
                             f'{statistics.median(b) if b else 0:.2f}')
            print(f'| {n} | {t} | ' + ' | '.join(cells) + ' |')

if __name__ == '__main__':
    main()
