#!/usr/bin/env python3
"""PyTorch peer for bench_unet: the diffusion world model's U-Net (ml/diffusion/unet.hpp, whose
header states the definition) written in PyTorch, with the same layers and parameter count:

  cond = silu(W2 silu(W1 [sin(w_j c_noise), cos(w_j c_noise) | action embeddings] + b1) + b2),
         w_j = 2^(j/2), one embedding table of K*A rows (row k*A + a_k for past position k);
  block(ci -> co): y = conv3x3_2(silu(AdaGN_2(conv3x3_1(silu(AdaGN_1(x)))))) + skip(x),
         AdaGN = group norm (no affine) * (Ws cond + bs) + (Wh cond + bh) per sample,
         skip = x (ci == co) or a 1x1 convolution;
  conv3x3_in -> encoder (2x2 average pool before every level but the first) -> decoder (nearest
  2x upsampling, concatenation [h, skip]) -> group norm (affine) -> silu -> conv3x3_out.

Measures, like the C++ bench:
  - train: one training step of the EDM world model (DIAMOND's sigma_data 0.5, p_mean -0.4,
    p_std 1.2): a batch of (context, next frame) examples drawn from the frames, noise, the
    loss |F - F_target|^2, backward and an AdamW step (beta2 0.999, weight decay 0.01),
    samples/s;
  - imagine: rollouts of B episodes at once, each new frame by --steps Euler steps on the Karras
    schedule (sigma 2e-3 .. 5, rho 7) from sigma_0 noise, quantised to u8 and shifted into the
    context, frames/s (B x horizon over the time).
Each is the best (minimum) time per call after one warm-up, over at least 3 calls and about
--min-seconds, as bench_common.hpp's best_seconds. The frames are random u8 (the naqs side uses
its synthetic bouncing ball): the cost does not depend on the pixel values.
PyTorch comes from Debian's python3-torch and is a benchmark-only peer, never a naqs dependency.
Prints "params,<count>" and one CSV row per measurement: torch,metric,threads,batch,value,unit.

Usage: peer_torch_unet.py [--threads 1] [--batch 32] [--rollouts 1,64] [--horizon 4]
         [--steps 3] [--min-seconds 1]
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

CONTEXT, ACTIONS, SIZE = 4, 6, 40
CHANNELS, GROUPS, COND, ACTION_DIM, NOISE_FEATURES = (32, 64, 64), 8, 128, 16, 16
SIGMA_DATA, P_MEAN, P_STD, SIGMA_MIN, SIGMA_MAX, RHO = 0.5, -0.4, 1.2, 2e-3, 5.0, 7.0


class Block(nn.Module):
    def __init__(self, ci, co):
        super().__init__()
        self.s1, self.h1 = nn.Linear(COND, ci), nn.Linear(COND, ci)
        self.c1 = nn.Conv2d(ci, co, 3, padding=1)
        self.s2, self.h2 = nn.Linear(COND, co), nn.Linear(COND, co)
        self.c2 = nn.Conv2d(co, co, 3, padding=1)
        self.skip = nn.Conv2d(ci, co, 1) if ci != co else None

    @staticmethod
    def ada(x, scale, shift):
        return F.group_norm(x, GROUPS, eps=1e-5) * scale[:, :, None, None] + shift[:, :, None, None]

    def forward(self, x, cond):
        h = self.c1(F.silu(self.ada(x, self.s1(cond), self.h1(cond))))
        y = self.c2(F.silu(self.ada(h, self.s2(cond), self.h2(cond))))
        return y + (x if self.skip is None else self.skip(x))


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        c = CHANNELS
        self.table = nn.Embedding(CONTEXT * ACTIONS, ACTION_DIM)
        self.cond1 = nn.Linear(2 * NOISE_FEATURES + CONTEXT * ACTION_DIM, COND)
        self.cond2 = nn.Linear(COND, COND)
        self.inp = nn.Conv2d(1 + CONTEXT, c[0], 3, padding=1)
        self.enc = nn.ModuleList(Block(c[max(l - 1, 0)], c[l]) for l in range(len(c)))
        self.dec = nn.ModuleList(Block(c[l + 1] + c[l], c[l]) for l in range(len(c) - 2, -1, -1))
        self.out_gn = nn.GroupNorm(GROUPS, c[0], eps=1e-5)
        self.out = nn.Conv2d(c[0], 1, 3, padding=1)
        self.register_buffer("freqs", 2.0 ** (0.5 * torch.arange(NOISE_FEATURES)))
        self.register_buffer("offsets", torch.arange(CONTEXT) * ACTIONS)

    def forward(self, x_in, c_noise, actions):
        """x_in (B, 1+K, H, W), c_noise (B), actions (B, K) -> F (B, 1, H, W)."""
        w = c_noise[:, None] * self.freqs[None, :]
        emb = self.table(actions + self.offsets[None, :]).flatten(1)
        cond = F.silu(self.cond2(F.silu(self.cond1(torch.cat([w.sin(), w.cos(), emb], 1)))))
        h = self.inp(x_in)
        skips = []
        for l, blk in enumerate(self.enc):
            if l > 0:
                h = F.avg_pool2d(h, 2)
            h = blk(h, cond)
            skips.append(h)
        for i, blk in enumerate(self.dec):
            h = F.interpolate(h, scale_factor=2, mode="nearest")
            h = blk(torch.cat([h, skips[len(skips) - 2 - i]], 1), cond)
        return self.out(F.silu(self.out_gn(h)))


def scalings(sigma):  # EDM: c_skip, c_out, c_in, c_noise
    s2 = sigma ** 2 + SIGMA_DATA ** 2
    return SIGMA_DATA ** 2 / s2, sigma * SIGMA_DATA / s2 ** 0.5, 1 / s2 ** 0.5, sigma.log() / 4


def best_time(fn, min_seconds):
    fn()  # warm-up
    best, total, n = math.inf, 0.0, 0
    while n < 3 or (total < min_seconds and n < 50):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, n = min(best, dt), total + dt, n + 1
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rollouts", default="1,64")
    ap.add_argument("--horizon", type=int, default=4)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = UNet()
    print(f"params,{sum(p.numel() for p in net.parameters())}", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-4, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=1e-2)
    episodes, steps = 64, 64
    frames = torch.randint(0, 256, (episodes, steps + 1, SIZE, SIZE), dtype=torch.uint8)
    acts = torch.randint(0, ACTIONS, (episodes, steps))
    pixel = lambda q: q.float() * (2 / 255) - 1

    def row(metric, batch, value, unit):
        print(f"torch,{metric},{a.threads},{batch},{value:.6g},{unit}", flush=True)

    def train_step():
        b = a.batch
        e = torch.randint(0, episodes, (b,))
        t = torch.randint(CONTEXT - 1, steps, (b,))
        idx = t[:, None] + torch.arange(-CONTEXT + 1, 1)[None, :]
        ctx = pixel(frames[e[:, None], idx])                    # (B, K, H, W)
        y = pixel(frames[e, t + 1])[:, None]                     # (B, 1, H, W)
        sigma = (P_MEAN + P_STD * torch.randn(b)).exp()[:, None, None, None]
        c_skip, c_out, c_in, c_noise = scalings(sigma)
        x = y + sigma * torch.randn_like(y)
        target = (y - c_skip * x) / c_out
        out = net(torch.cat([c_in * x, ctx], 1), c_noise.flatten(), acts[e[:, None], idx])
        loss = (out - target).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    row("train", a.batch, a.batch / best_time(train_step, a.min_seconds), "samples/s")

    ramp = torch.linspace(0, 1, a.steps, dtype=torch.float64) if a.steps > 1 else torch.zeros(1, dtype=torch.float64)
    sigmas = (SIGMA_MAX ** (1 / RHO) + ramp * (SIGMA_MIN ** (1 / RHO) - SIGMA_MAX ** (1 / RHO))) ** RHO
    sigmas = torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)]).tolist()
    with torch.no_grad():
        for b in [int(v) for v in a.rollouts.split(",")]:
            def rollout():
                ctx = pixel(frames[:b, :CONTEXT])
                for h in range(a.horizon):
                    act = acts[:b, h:h + CONTEXT]
                    x = sigmas[0] * torch.randn(b, 1, SIZE, SIZE)
                    for i in range(a.steps):
                        s = torch.tensor(sigmas[i])
                        c_skip, c_out, c_in, c_noise = scalings(s)
                        f = net(torch.cat([c_in * x, ctx], 1), c_noise.expand(b).float(), act)
                        d = (x - (c_skip * x + c_out * f)) / sigmas[i]
                        x = x + (sigmas[i + 1] - sigmas[i]) * d
                    q = ((x + 1) * (255 / 2)).round().clamp(0, 255)
                    ctx = torch.cat([ctx[:, 1:], pixel(q)], 1)
            row("imagine", b, b * a.horizon / best_time(rollout, a.min_seconds), "frames/s")


if __name__ == "__main__":
    main()
