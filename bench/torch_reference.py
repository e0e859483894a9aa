#!/usr/bin/python3
# PyTorch reference for `npm run bench` (called by bench/torch-reference.ts). It is used only
# by the benchmark, to compare the tool's training speed with PyTorch on the same machine in the
# same run; it is not part of the tool. It trains, for timing only, the tool's autoencoder
# presets layer for layer (MAC: all dense; MAM: dec1 is a MAM layer) with Adam, batch 64, MSE.
#
# Prints progress on stderr and one JSON object on stdout at the end:
#   {"torch": "<version>", "results": [{"preset", "kind", "threads", "windows_per_s", "ms_per_step"}]}
#
# Usage: /usr/bin/python3 bench/torch_reference.py --presets small,paper --kinds mac,mam \
#            --threads 1,2 --seconds 3 [--mam-impl indices|autograd]
import argparse
import json
import os
import re
import sys
import time

# Idle OpenMP threads sleep instead of spinning. On a 2-core machine where other work holds a
# core, libgomp's default spin-then-wait made 2 threads 3-4x slower than 1 (each parallel op
# waits for the preempted thread); with PASSIVE 2 threads are within ~10% of 1. Must be set
# before torch loads libgomp; an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import torch  # noqa: E402 (after the environment is set)
from torch import nn

BATCH = 64
WARMUP_STEPS = 5

# Layer sizes, input first: enc1, latent, dec1, ..., out (as in src/model/autoencoder.ts).
PRESETS = {
    'small': [128, 64, 16, 256, 128],
    'paper': [256, 256, 32, 512, 512, 256, 256],
}
MAM_LAYER = 2  # index of dec1 in the list of layers


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def products(x, w):
    """All products x[b, j] * w[j, k], shape [B, in, out]."""
    return x.unsqueeze(2) * w.unsqueeze(0)


class MamIndices(torch.autograd.Function):
    """max_j + min_j of x[b, j] * w[j, k]; saves only the selected indices, scatters the gradient."""

    @staticmethod
    def forward(ctx, x, w):
        p = products(x, w)
        hi, i_hi = p.max(dim=1)
        lo, i_lo = p.min(dim=1)
        ctx.save_for_backward(x, w, i_hi, i_lo)
        return hi + lo

    @staticmethod
    def backward(ctx, g):
        x, w, i_hi, i_lo = ctx.saved_tensors
        cols = torch.arange(w.shape[1])
        dx = torch.zeros_like(x)
        dw = torch.zeros_like(w)
        for idx in (i_hi, i_lo):  # idx[b, k] = the j selected for output k of sample b
            dx.scatter_add_(1, idx, g * w[idx, cols])   # dx[b, j] += g[b, k] * w[j, k]
            dw.scatter_add_(0, idx, g * x.gather(1, idx))  # dw[j, k] += g[b, k] * x[b, j]
        return dx, dw


class Mam(nn.Module):
    """MAM layer: y[k] = max_j(x[j] W[j,k]) + min_j(x[j] W[j,k]) + b[k], W of shape [in, out]."""

    def __init__(self, n_in, n_out, impl):
        super().__init__()
        self.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty(n_in, n_out)))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.impl = impl

    def forward(self, x):
        if self.impl == 'indices':
            return MamIndices.apply(x, self.weight) + self.bias
        # Plain autograd: max/min over a dim send the gradient to the one selected index.
        p = products(x, self.weight)
        return p.max(dim=1).values + p.min(dim=1).values + self.bias


def dense(n_in, n_out):
    layer = nn.Linear(n_in, n_out)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def build(preset, kind, mam_impl):
    sizes = PRESETS[preset]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(Mam(n_in, n_out, mam_impl) if kind == 'mam' and i == MAM_LAYER else dense(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())  # ReLU after every layer but the last (linear output)
    return nn.Sequential(*layers)


def bench(preset, kind, threads, seconds, mam_impl):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = build(preset, kind, mam_impl)
    x = torch.randn(BATCH, PRESETS[preset][0])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()  # mean over all elements; autoencoder, so the target is x

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), x)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        step()
    steps = 0
    t0 = time.perf_counter()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            break
    return {
        'preset': preset, 'kind': kind, 'threads': threads,
        'windows_per_s': steps * BATCH / elapsed, 'ms_per_step': 1000 * elapsed / steps,
    }


def main():
    ap = argparse.ArgumentParser(description='PyTorch reference timing for npm run bench')
    ap.add_argument('--presets', default='small,paper')
    ap.add_argument('--kinds', default='mac,mam')
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--seconds', type=float, default=3.0)
    # Measured once (2-core AMD EPYC VM, Debian's torch 1.13, 1 thread, batch 64): 'indices'
    # won. The MAM layer's forward+backward: 3.2 vs 5.0 ms (16->256), 11 vs 20 ms (32->512),
    # ~1.7x; a whole training step: 12.7 vs 13.1 ms (small, 3%), 104 vs 116 ms (paper, 10%),
    # as the dense layers' matmuls take most of a step. Both kept, to measure again.
    ap.add_argument('--mam-impl', choices=['indices', 'autograd'], default='indices')
    args = ap.parse_args()
    presets = args.presets.split(',')
    kinds = args.kinds.split(',')
    threads = [int(t) for t in args.threads.split(',')]
    for name in presets:
        if name not in PRESETS:
            ap.error(f'unknown preset {name!r}; known: {", ".join(PRESETS)}')
    for kind in kinds:
        if kind not in ('mac', 'mam'):
            ap.error(f'unknown kind {kind!r}; known: mac, mam')

    # Threads are set explicitly (set_num_threads) below, so the results don't depend on
    # OMP_NUM_THREADS / MKL_NUM_THREADS; still, say what the environment holds, what torch would
    # use by itself, and its BLAS ('generic' is whatever libblas.so.3 is; the dense layers' speed).
    env = [f'{v}={os.environ[v]}' for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OMP_WAIT_POLICY') if v in os.environ]
    blas = re.search(r'BLAS_INFO=(\w+)', torch.__config__.show())
    log(f'torch reference: torch {torch.__version__}, BLAS {blas.group(1) if blas else "?"}, '
        f'default threads {torch.get_num_threads()}, {" ".join(env)}')
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError as e:
        log(f'torch reference: set_num_interop_threads(1) refused: {e}')

    results = []
    for preset in presets:
        for kind in kinds:
            for t in threads:
                r = bench(preset, kind, t, args.seconds, args.mam_impl)
                log(f'torch reference: {preset} {kind} threads {t} (torch.get_num_threads() = '
                    f'{torch.get_num_threads()}): {r["windows_per_s"]:.0f} windows/s, {r["ms_per_step"]:.2f} ms/step')
                results.append(r)
    print(json.dumps({'torch': torch.__version__, 'results': results}))


if __name__ == '__main__':
    main()
