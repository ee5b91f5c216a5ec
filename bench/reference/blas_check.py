"""Refuses to time a reference whose matrix products run on a reference BLAS.

Debian's python3-torch calls whatever libblas.so.3 the system's alternatives point to. Installed alone it pulls in
netlib's libblas3, which multiplies at about 2 GFLOP/s on these shapes (measured 2.3 on 2026-12-02, against 37 with
libopenblas0-pthread on the same machine): a reference step then takes 15× longer and every ratio against it is
meaningless. The reference scripts call require_fast_blas() first and exit with why instead.
"""
import sys
import time

import torch

# A single-threaded OpenBLAS does 35–100 GFLOP/s on this product; netlib's reference BLAS about 2.
MIN_GFLOPS = 10.0


def require_fast_blas(m=1216, k=256, n=768, repeats=20):
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    gflops = 2.0 * m * k * n * repeats / (time.perf_counter() - start) / 1e9
    if gflops < MIN_GFLOPS:
        sys.exit(f"PyTorch's BLAS runs a {m}x{k}x{n} product at {gflops:.1f} GFLOP/s (below {MIN_GFLOPS:.0f}): "
                 "libblas.so.3 is the reference BLAS, not OpenBLAS; apt-get install libopenblas0-pthread (bench/run does)")
    return gflops
