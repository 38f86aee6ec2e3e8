#!/usr/bin/env python3
"""PyTorch peer for bench_lm: the naqs transformer decoder (ml/transformer/) written in PyTorch.

Same architecture as ml/transformer/model.hpp (its header states the definition): byte embedding; L pre-norm blocks
  x += Wo · attn(RoPE(Wq · rms(x)), RoPE(Wk · rms(x)), Wv · rms(x))      (causal)
  x += W2 · (silu(W1 · rms(x)) * (W3 · rms(x)))                           (SwiGLU)
with Hq query heads and Hkv key/value heads (GQA by head index), cross-layer KV sharing
(only owner layers s·⌊l/s⌋ project and cache K/V; the others read the owner's), a final RMSNorm
and an untied linear head to the 256 bytes. RoPE in the rotate-half convention. No biases.
Measures, like the C++ bench:
  - train: forward + cross entropy + backward on (batch, 128) byte windows, tokens/s (the
    optimiser step is left out, as in bench_lm);
  - cached generation: one token per step through a preallocated KV cache (owners only),
    from an empty cache to T tokens, tokens/s (batch x T over the time);
  - uncached generation: the full forward over the prefix for every new token, for the first
    --uncached-tokens positions only (as bench_lm), tokens/s.
PyTorch comes from Debian's python3-torch and is a benchmark-only peer, never a naqs
dependency. Prints one CSV row per measurement: impl,metric,threads,batch,T,value,unit.

Usage: peer_torch_lm.py [--d-model 128] [--layers 4] [--heads 4] [--kv-heads 4] [--kv-share 1]
         [--ffn 0 (= 16 ceil(8 d_model / 48))] [--context 256] [--train-batch 16]
         [--train-length 128] [--gen-batches 1,64] [--gen-tokens 256] [--uncached-tokens 32]
         [--threads 1] [--min-seconds 1] [--only train,cached,uncached]
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


def rms(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, offset, base=10000.0):  # x (B, T, H, Dh)
    _, t, _, dh = x.shape
    half = dh // 2
    inv = base ** (-torch.arange(half, dtype=torch.float64) * 2.0 / dh)
    ang = (torch.arange(offset, offset + t, dtype=torch.float64)[:, None] * inv[None, :])
    cos = ang.cos().to(x.dtype)[None, :, None, :]
    sin = ang.sin().to(x.dtype)[None, :, None, :]
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)


class Model(torch.nn.Module):
    def __init__(self, d_model, layers, heads, kv_heads, kv_share, ffn, context):
        super().__init__()
        assert d_model % heads == 0 and heads % kv_heads == 0
        self.d, self.L, self.hq, self.hkv, self.s = d_model, layers, heads, kv_heads, kv_share
        self.dh = d_model // heads
        self.context = context
        p = torch.nn.Parameter
        std = 0.02
        self.emb = p(torch.randn(256, d_model) * std)
        self.blocks = torch.nn.ModuleList()
        for layer in range(layers):
            blk = torch.nn.Module()
            blk.n1 = p(torch.ones(d_model))
            blk.wq = p(torch.randn(d_model, heads * self.dh) * std)
            if layer % kv_share == 0:
                blk.wk = p(torch.randn(d_model, kv_heads * self.dh) * std)
                blk.wv = p(torch.randn(d_model, kv_heads * self.dh) * std)
            blk.wo = p(torch.randn(heads * self.dh, d_model) * std / math.sqrt(2 * layers))
            blk.n2 = p(torch.ones(d_model))
            blk.w1 = p(torch.randn(d_model, ffn) * std)
            blk.w3 = p(torch.randn(d_model, ffn) * std)
            blk.w2 = p(torch.randn(ffn, d_model) * std / math.sqrt(2 * layers))
            self.blocks.append(blk)
        self.nf = p(torch.ones(d_model))
        self.head = p(torch.randn(d_model, 256) * std)

    def new_cache(self, batch, length):
        owners = (self.L + self.s - 1) // self.s
        shape = (owners, batch, length, self.hkv, self.dh)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, tokens, cache=None, offset=0):
        """tokens (B, T) -> logits (B, T, 256); with a cache, appends K/V at [offset, offset+T)."""
        b, t = tokens.shape
        x = self.emb[tokens]
        k = v = None
        for layer, blk in enumerate(self.blocks):
            h = rms(x, blk.n1)
            q = rope((h @ blk.wq).view(b, t, self.hq, self.dh), offset)
            if layer % self.s == 0:
                k = rope((h @ blk.wk).view(b, t, self.hkv, self.dh), offset)
                v = (h @ blk.wv).view(b, t, self.hkv, self.dh)
                if cache is not None:
                    o = layer // self.s
                    cache[0][o, :, offset:offset + t] = k
                    cache[1][o, :, offset:offset + t] = v
                    k = cache[0][o, :, :offset + t]
                    v = cache[1][o, :, :offset + t]
            g = self.hq // self.hkv
            tk = k.shape[1]
            qh = q.view(b, t, self.hkv, g, self.dh).permute(0, 2, 3, 1, 4)   # B, Hkv, g, T, Dh
            kh = k.permute(0, 2, 1, 3)[:, :, None]                           # B, Hkv, 1, Tk, Dh
            vh = v.permute(0, 2, 1, 3)[:, :, None]
            s = (qh @ kh.transpose(-1, -2)) / math.sqrt(self.dh)             # B, Hkv, g, T, Tk
            if t > 1:
                pos_q = torch.arange(offset, offset + t)[:, None]
                s = s.masked_fill(torch.arange(tk)[None, :] > pos_q, float("-inf"))
            att = (s.softmax(-1) @ vh).permute(0, 3, 1, 2, 4)                # B, T, Hkv, g, Dh
            x = x + att.reshape(b, t, self.d) @ blk.wo
            h = rms(x, blk.n2)
            x = x + (F.silu(h @ blk.w1) * (h @ blk.w3)) @ blk.w2
        return rms(x, self.nf) @ self.head


def timed(fn, min_seconds):
    fn()  # warm-up
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - start
        if el >= min_seconds:
            return el / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=4)
    ap.add_argument("--kv-share", type=int, default=1)
    ap.add_argument("--ffn", type=int, default=0)  # 0: 16 * ceil(8 d_model / 48), as naqs
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--train-length", type=int, default=128)
    ap.add_argument("--uncached-tokens", type=int, default=32)
    ap.add_argument("--gen-batches", default="1,64")
    ap.add_argument("--gen-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--only", default="train,cached,uncached")
    a = ap.parse_args()
    if a.ffn == 0:
        a.ffn = 16 * -(-8 * a.d_model // 48)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    only = set(a.only.split(","))
    m = Model(a.d_model, a.layers, a.heads, a.kv_heads, a.kv_share, a.ffn, a.context)

    def row(metric, batch, t, value, unit):
        print(f"torch,{metric},{a.threads},{batch},{t},{value:.6g},{unit}", flush=True)

    if "train" in only:
        data = torch.randint(0, 256, (a.train_batch, a.train_length + 1))

        def step():
            logits = m(data[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, 256), data[:, 1:].reshape(-1))
            m.zero_grad(set_to_none=True)
            loss.backward()
        row("train", a.train_batch, a.train_length,
            a.train_batch * a.train_length / timed(step, a.min_seconds), "tokens/s")

    with torch.no_grad():
        for batch in [int(b) for b in a.gen_batches.split(",")]:
            start = torch.zeros(batch, 1, dtype=torch.long)
            if "cached" in only:
                def gen_cached():
                    cache = m.new_cache(batch, a.gen_tokens)
                    tok = start
                    for pos in range(a.gen_tokens):
                        tok = m(tok, cache, pos)[:, -1].argmax(-1, keepdim=True)
                row("cached", batch, a.gen_tokens,
                    batch * a.gen_tokens / timed(gen_cached, a.min_seconds), "tokens/s")
            if "uncached" in only:
                n = min(a.uncached_tokens, a.gen_tokens)

                def gen_uncached():
                    seq = start
                    for _ in range(n):
                        tok = m(seq)[:, -1].argmax(-1, keepdim=True)
                        seq = torch.cat([seq, tok], dim=1)
                row("uncached", batch, n, batch * n / timed(gen_uncached, a.min_seconds),
                    "tokens/s")


if __name__ == "__main__":
    main()
