#!/usr/bin/env python3
"""PyTorch peer for bench_naqs_sampling: the same 1D NAQS written in PyTorch (CPU).

Same architecture as physics/models/naqs_conv1d.hpp: an exclusive masked conv1d (1 -> W), `depth`
residual blocks of two inclusive causal convs (dilations cycled from 1,2,4) with ReLU, a 1x1
conv to two real logits; every conv weight-normalised (w = g v / ||v|| per output channel);
log|psi_i(s)| = z_s - 1/2 logsumexp(2 z). Measures, like the C++ bench:
  - cached sampling: per-layer activation buffers, each step evaluates only site t
    (window gather + einsum per layer), samples/s;
  - naive sampling: full network re-evaluated for every site, samples/s;
  - local energies of the TFIM (J = 1, h = 1, periodic chain): all N single-flip
    configurations of a batch in one forward pass, connected configurations/s (log psi(sigma)
    is an input, as in naqs, and not timed).
PyTorch comes from Debian's python3-torch and is a benchmark-only peer, never a naqs
dependency. Prints one CSV row per repetition in bench_naqs_sampling's format (impl = torch);
bench/run_naqs_vs_torch.sh runs both and tabulates them.

Usage: peer_torch_naqs.py [--sizes 32,64,128,256] [--width 16] [--depth 3] [--batch 256]
                          [--min-seconds 1] [--threads T] [--repeats R] [--only cached,naive,eloc]
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


class MaskedConv1d(torch.nn.Module):
    """Causal conv1d; output t sees inputs t - d*(K-1-k) (inclusive) or one step earlier."""

    def __init__(self, c_in, c_out, kernel, dilation, exclusive):
        super().__init__()
        v = torch.randn(c_out, c_in, kernel) / math.sqrt(c_in * kernel)
        self.v = torch.nn.Parameter(v)
        self.g = torch.nn.Parameter(v.flatten(1).norm(dim=1))
        self.b = torch.nn.Parameter(torch.zeros(c_out))
        self.kernel, self.dilation, self.exclusive = kernel, dilation, exclusive
        self.left = dilation * (kernel - 1) + (1 if exclusive else 0)

    def weight(self):
        return self.g[:, None, None] * self.v / self.v.flatten(1).norm(dim=1)[:, None, None]

    def forward(self, x, w=None):  # x (B,Cin,L) -> (B,Cout,L)
        w = self.weight() if w is None else w
        x = F.pad(x, (self.left, 0))
        if self.exclusive:
            x = x[..., :-1]
        return F.conv1d(x, w, self.b, dilation=self.dilation)

    def taps(self, t, pad):
        """Buffer positions (buffers carry `pad` zero columns on the left) read by output t."""
        shift = 1 if self.exclusive else 0
        return torch.tensor([pad + t - shift - self.dilation * (self.kernel - 1 - k)
                             for k in range(self.kernel)])


class Naqs1d(torch.nn.Module):
    def __init__(self, n_sites, width, depth, kernel=3, dilations=(1, 2, 4)):
        super().__init__()
        self.n_sites = n_sites
        self.conv_in = MaskedConv1d(1, width, kernel, 1, True)
        self.blocks = torch.nn.ModuleList()
        for j in range(depth):
            d = dilations[j % len(dilations)]
            self.blocks.append(torch.nn.ModuleList([MaskedConv1d(width, width, kernel, d, False),
                                                    MaskedConv1d(width, width, kernel, d, False)]))
        self.conv_out = MaskedConv1d(width, 2, 1, 1, False)
        self.pad = max([self.conv_in.left] + [c.left for b in self.blocks for c in b])

    def logits(self, sigma):  # sigma (B,N) -> (B,2,N)
        h = torch.relu(self.conv_in(sigma[:, None, :]))
        for a, b in self.blocks:
            h = h + torch.relu(b(torch.relu(a(h))))
        return self.conv_out(h)

    def log_psi(self, sigma):  # (B,)
        lp = torch.log_softmax(2 * self.logits(sigma), dim=1)
        idx = ((1 - sigma) / 2).long()[:, None, :]
        return 0.5 * lp.gather(1, idx).squeeze(1).sum(1)

    def sample_cached(self, batch):
        n, pad = self.n_sites, self.pad
        layers = [self.conv_in] + [c for b in self.blocks for c in b]
        weights = [l.weight() for l in layers]
        w_out = self.conv_out.weight()[:, :, 0]
        width = self.conv_in.v.shape[0]
        x = torch.zeros(batch, 1, pad + n)
        bufs = [torch.zeros(batch, width, pad + n) for _ in layers]  # outputs of each layer
        sigma = torch.zeros(batch, n)
        log_psi = torch.zeros(batch)
        for t in range(n):
            inp = x
            h_t = None
            for li, (layer, w) in enumerate(zip(layers, weights)):
                win = inp[:, :, layer.taps(t, pad)]                    # (B,Cin,K)
                y = torch.relu(torch.einsum('bck,ock->bo', win, w) + layer.b)
                if li >= 2 and li % 2 == 0:                             # second conv of a block
                    y = y + h_t
                if li == 0 or li % 2 == 0:
                    h_t = y
                bufs[li][:, :, pad + t] = y
                inp = bufs[li]
            z = h_t @ w_out.T + self.conv_out.b                         # (B,2)
            lp = torch.log_softmax(2 * z, dim=1)
            up = torch.rand(batch) < lp[:, 0].exp()
            s = torch.where(up, 1.0, -1.0)
            log_psi += 0.5 * torch.where(up, lp[:, 0], lp[:, 1])
            sigma[:, t] = s
            x[:, 0, pad + t] = s
        return sigma, log_psi

    def sample_naive(self, batch):
        sigma = torch.zeros(batch, self.n_sites)
        for t in range(self.n_sites):
            lp = torch.log_softmax(2 * self.logits(sigma)[:, :, t], dim=1)
            up = torch.rand(batch) < lp[:, 0].exp()
            sigma[:, t] = torch.where(up, 1.0, -1.0)
        return sigma

    def local_energy_tfim(self, sigma, log_psi, j=1.0, h=1.0):
        b, n = sigma.shape
        flips = sigma[:, None, :].repeat(1, n, 1)
        idx = torch.arange(n)
        flips[:, idx, idx] *= -1
        log_flip = self.log_psi(flips.reshape(b * n, n)).reshape(b, n)
        diag = -j * (sigma * torch.roll(sigma, -1, dims=1)).sum(1)
        return diag - h * torch.exp(log_flip - log_psi[:, None]).sum(1)


def rate(f, items, min_seconds):
    f()
    runs, t0 = 0, time.perf_counter()
    while True:
        f()
        runs += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return items * runs / elapsed


def load_average():
    try:
        with open('/proc/loadavg') as f:
            return float(f.read().split()[0])
    except OSError:
        return -1.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sizes', default='32,64,128,256')
    ap.add_argument('--width', type=int, default=16)
    ap.add_argument('--depth', type=int, default=3)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--min-seconds', type=float, default=1.0)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--only', default='cached,naive,eloc')
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    only = args.only.split(',')
    threads = torch.get_num_threads()
    torch.manual_seed(1)
    print(f'# peer_torch_naqs  torch {torch.__version__}  threads {threads}  f32 cpu; '
          '0 = not measured')
    print(f"{'N':>6} {'rep':>4} {'cached samples/s':>16} {'naive samples/s':>16} {'gain':>8} "
          f"{'E_loc configs/s':>18} {'E_loc samples/s':>16} {'load':>6}")
    rows = []
    with torch.no_grad():
        for n in [int(s) for s in args.sizes.split(',')]:
            model = Naqs1d(n, args.width, args.depth)
            naive_batch = max(1, min(args.batch, 8192 // n))
            sigma, _ = model.sample_cached(args.batch)
            log_psi = model.log_psi(sigma)
            for rep in range(args.repeats):
                cached = naive = eloc = 0.0
                if 'cached' in only:
                    cached = rate(lambda: model.sample_cached(args.batch), args.batch,
                                  args.min_seconds)
                if 'naive' in only:
                    naive = rate(lambda: model.sample_naive(naive_batch), naive_batch,
                                 args.min_seconds)
                if 'eloc' in only:
                    eloc = rate(lambda: model.local_energy_tfim(sigma, log_psi), args.batch,
                                args.min_seconds)
                gain = cached / naive if naive > 0 else 0.0
                load = load_average()
                print(f'{n:6d} {rep:4d} {cached:16.1f} {naive:16.1f} {gain:8.1f} {eloc * n:18.1f} '
                      f'{eloc:16.1f} {load:6.2f}', flush=True)
                rows.append(f'torch,torch {torch.__version__},cpu,{threads},f32,{n},{args.width},'
                            f'{args.depth},{args.batch},{rep},{load},{cached},{naive},{eloc * n},'
                            f'{eloc}')
    print('\n# csv: impl,commit,device,threads,dtype,N,width,depth,batch,rep,load1,'
          'cached_samples_per_s,naive_samples_per_s,eloc_configs_per_s,eloc_samples_per_s')
    for r in rows:
        print(r)


if __name__ == '__main__':
    main()
