#!/usr/bin/python3
"""PyTorch reference for SoftPrompt's prompt-tuning benchmark step.

Workload (the C# side implements the same computation):
  * GPT-2-small-shaped stack: 12 pre-LN blocks, d=768, 12 heads (64), MLP 3072
    with GELU-tanh, LayerNorm eps 1e-5, final LayerNorm, tied LM head
    (logits = h @ wte^T), vocab 50257, learned positions (wpe, 1024).
  * Weights in torch.nn.Linear layout ([out, in], y = x @ W^T + b), random
    N(0, 0.02), seeded, all frozen (requires_grad=False).
  * Trainable soft prompt [20, 768] prepended to every row's token embeddings
    (PEFT prompt tuning): embeds = concat(prompt, wte[ids]); positions 0..147
    cover the whole 148-long sequence; batch 8 x 128 random real tokens.
  * Loss: next-token cross-entropy over the real positions only; the last real
    position has no target (ignore_index -100); prompt positions carry no loss.
    The LM head is evaluated on real positions only: logits [8*128, 50257].
  * One step = forward, backward (into the prompt only), AdamW(lr=1e-3) on the
    prompt.

Modes:
  default          time --steps steps after 2 warm-up steps
  --check FILE     one step on a (tiny) config from flags; dump inputs, weights,
                   loss, prompt gradient and updated prompt as JSON so the C#
                   side can reproduce the exact numbers.

Always run with /usr/bin/python3 (Debian python3-torch); see run_reference.sh.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from blas_check import require_fast_blas

ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
LN_EPS = 1e-5
IGNORE = -100
ENV_KNOBS = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "LD_PRELOAD", "LD_LIBRARY_PATH")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=5, help="timed steps (after 2 warm-up)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=None,
                   help="torch.set_num_threads(N); default: leave PyTorch's default")
    p.add_argument("--json", metavar="FILE", help="write timing results as JSON")
    p.add_argument("--check", metavar="FILE",
                   help="run one step and dump loss/gradients/inputs as JSON instead of timing")
    p.add_argument("--sdpa", action="store_true",
                   help="use F.scaled_dot_product_attention (PyTorch >= 2.0 only)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="float64 gives a high-precision reference for --check")
    # Model / batch shape (defaults = the benchmark workload).
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--mlp", type=int, default=None, help="MLP width (default 4*d)")
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--positions", type=int, default=1024, help="rows of wpe")
    p.add_argument("--seq", type=int, default=128, help="real tokens per row")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--prompt", type=int, default=20, help="virtual tokens")
    a = p.parse_args(argv)
    if a.mlp is None:
        a.mlp = 4 * a.d
    if a.d % a.heads:
        p.error("--d must be divisible by --heads")
    if a.prompt + a.seq > a.positions:
        p.error("--prompt + --seq exceeds --positions")
    return a


# ----------------------------------------------------------------------------
# Model (functional, so the weight list/order is explicit for the C# side)
# ----------------------------------------------------------------------------

def make_weights(a, gen, dtype):
    """Ordered dict name -> frozen tensor. Names follow HF GPT-2, but matrices
    are in nn.Linear layout [out, in] (HF's Conv1D stores [in, out]).

    Everything is N(0, 0.02); LayerNorm gains are 1 + N(0, 0.02). Biases and LN
    parameters are deliberately non-trivial (GPT-2 init would make them 0/1) so
    that --check exercises every term; this has no effect on timing."""
    d, m = a.d, a.mlp

    def rnd(*shape, base=0.0):
        t = torch.empty(*shape, dtype=dtype)
        t.normal_(0.0, 0.02, generator=gen)
        return (t + base).requires_grad_(False)

    w = {"wte": rnd(a.vocab, d), "wpe": rnd(a.positions, d)}
    for i in range(a.layers):
        h = f"h.{i}."
        w[h + "ln_1.weight"] = rnd(d, base=1.0)
        w[h + "ln_1.bias"] = rnd(d)
        w[h + "attn.c_attn.weight"] = rnd(3 * d, d)   # rows: q | k | v
        w[h + "attn.c_attn.bias"] = rnd(3 * d)
        w[h + "attn.c_proj.weight"] = rnd(d, d)
        w[h + "attn.c_proj.bias"] = rnd(d)
        w[h + "ln_2.weight"] = rnd(d, base=1.0)
        w[h + "ln_2.bias"] = rnd(d)
        w[h + "mlp.c_fc.weight"] = rnd(m, d)
        w[h + "mlp.c_fc.bias"] = rnd(m)
        w[h + "mlp.c_proj.weight"] = rnd(d, m)
        w[h + "mlp.c_proj.bias"] = rnd(d)
    w["ln_f.weight"] = rnd(d, base=1.0)
    w["ln_f.bias"] = rnd(d)
    return w


def attention_explicit(q, k, v, causal_mask):
    # q, k, v: [B, H, T, hd]. Full T x T scores (no causal skipping), masked
    # with -inf before softmax, exactly as the C# side computes it.
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    att = att.masked_fill(causal_mask, float("-inf"))
    att = torch.softmax(att, dim=-1)
    return att @ v


def attention_sdpa(q, k, v, causal_mask):
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def forward_loss(w, prompt, ids, targets, a, attn):
    B, S = ids.shape
    P, d, H = prompt.shape[0], a.d, a.heads
    T, hd = P + S, d // H

    x = torch.cat([prompt.unsqueeze(0).expand(B, P, d), w["wte"][ids]], dim=1)
    x = x + w["wpe"][:T]
    # True above the diagonal = future positions to hide.
    causal_mask = torch.ones(T, T, dtype=torch.bool).triu_(1)

    for i in range(a.layers):
        h = f"h.{i}."
        y = F.layer_norm(x, (d,), w[h + "ln_1.weight"], w[h + "ln_1.bias"], LN_EPS)
        qkv = F.linear(y, w[h + "attn.c_attn.weight"], w[h + "attn.c_attn.bias"])
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(d, dim=2))
        y = attn(q, k, v, causal_mask).transpose(1, 2).reshape(B, T, d)
        x = x + F.linear(y, w[h + "attn.c_proj.weight"], w[h + "attn.c_proj.bias"])

        y = F.layer_norm(x, (d,), w[h + "ln_2.weight"], w[h + "ln_2.bias"], LN_EPS)
        y = F.gelu(F.linear(y, w[h + "mlp.c_fc.weight"], w[h + "mlp.c_fc.bias"]),
                   approximate="tanh")
        x = x + F.linear(y, w[h + "mlp.c_proj.weight"], w[h + "mlp.c_proj.bias"])

    # Only real positions feed the loss; LayerNorm is per-position, so slicing
    # before ln_f gives the same result as slicing after it, with less work.
    x = x[:, P:, :].reshape(B * S, d)
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], LN_EPS)
    logits = x @ w["wte"].t()                     # [B*S, vocab], tied head
    # Mean over the B*(S-1) positions that have a target.
    return F.cross_entropy(logits, targets.reshape(-1), ignore_index=IGNORE)


def make_inputs(a, gen, dtype):
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), generator=gen)
    targets = torch.full_like(ids, IGNORE)
    targets[:, :-1] = ids[:, 1:]                  # position s predicts token s+1
    prompt = torch.empty(a.prompt, a.d, dtype=dtype).normal_(0.0, 0.02, generator=gen)
    return ids, targets, prompt.requires_grad_(True)


def train_step(w, prompt, opt, ids, targets, a, attn):
    opt.zero_grad(set_to_none=True)
    loss = forward_loss(w, prompt, ids, targets, a, attn)
    loss.backward()
    opt.step()
    return loss


# ----------------------------------------------------------------------------
# FLOP count
# ----------------------------------------------------------------------------

def matmul_flops(a):
    """Analytic matmul FLOPs of one step (2 FLOPs per multiply-add).

    N = B*T tokens through the stack (T = P + S), d model width, m MLP width,
    L layers, V vocab, B*S positions through the LM head.

      forward  = L * (2*N*(3d*d + d*d + 2*d*m)      # qkv, attn proj, fc, proj
                      + 4*B*T^2*d)                   # q.k^T and att.v, full TxT
               + 2*B*S*d*V                           # LM head
      backward = L * (2*N*(3d*d + d*d + 2*d*m)      # dX = dY.W only (W frozen)
                      + 8*B*T^2*d)                   # dq,dk and datt,dv
               + 2*B*S*d*V                           # dh = dlogits.wte (no dwte)
      total    = L * (4*N*(4d^2 + 2dm) + 12*B*T^2*d) + 4*B*S*d*V
    With m = 4d this is L*(48*N*d^2 + 12*B*T^2*d) + 4*B*S*d*V, i.e.
    579.7 GFLOP for the benchmark shape. Elementwise work, softmax, LayerNorm,
    cross-entropy and AdamW are not counted."""
    B, S, P, d, m, L, V = a.batch, a.seq, a.prompt, a.d, a.mlp, a.layers, a.vocab
    T = P + S
    N = B * T
    linear = 2 * N * (3 * d * d + d * d + 2 * d * m)
    attn_fwd = 4 * B * T * T * d
    head = 2 * B * S * d * V
    return L * (2 * linear + 3 * attn_fwd) + 2 * head


# ----------------------------------------------------------------------------

def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def flat(t):
    return {"shape": list(t.shape), "data": t.detach().reshape(-1).tolist()}


def main():
    a = parse_args()
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    require_fast_blas()
    dtype = getattr(torch, a.dtype)

    if a.sdpa:
        if not hasattr(F, "scaled_dot_product_attention"):
            sys.exit(f"--sdpa: torch {torch.__version__} has no "
                     "F.scaled_dot_product_attention (added in PyTorch 2.0); "
                     "use the default explicit attention")
        attn = attention_sdpa
    else:
        attn = attention_explicit

    gen = torch.Generator().manual_seed(a.seed)
    w = make_weights(a, gen, dtype)
    ids, targets, prompt = make_inputs(a, gen, dtype)
    prompt_init = prompt.detach().clone()
    opt = torch.optim.AdamW([prompt], **ADAMW)

    if a.check:
        loss = train_step(w, prompt, opt, ids, targets, a, attn)
        assert all(t.grad is None for t in w.values()), "frozen weight got a gradient"
        cfg = {k: getattr(a, k) for k in
               ("layers", "d", "heads", "mlp", "vocab", "positions", "seq", "batch",
                "prompt", "seed", "dtype", "sdpa")}
        out = {
            "config": cfg,
            "conventions": {
                "linear_layout": "[out, in], y = x @ W^T + b",
                "c_attn_rows": "q | k | v, heads contiguous (head h = rows h*hd..)",
                "ln_eps": LN_EPS, "gelu": "tanh",
                "loss": "mean CE over batch*(seq-1) targets; target[s] = ids[s+1]",
                "adamw": {"lr": ADAMW["lr"], "beta1": ADAMW["betas"][0],
                          "beta2": ADAMW["betas"][1], "eps": ADAMW["eps"],
                          "weight_decay": ADAMW["weight_decay"]},
            },
            "torch_version": torch.__version__,
            "loss": loss.item(),
            "prompt_grad": flat(prompt.grad),
            "prompt_after_step": flat(prompt),
            "inputs": {"ids": flat(ids), "prompt_init": flat(prompt_init)},
            "weights": {k: flat(t) for k, t in w.items()},
        }
        with open(a.check, "w") as f:
            json.dump(out, f)
        print(f"loss {loss.item():.9g}  |grad| {prompt.grad.norm().item():.6g}  -> {a.check}")
        return

    times = []
    for i in range(a.warmup + a.steps):
        flt0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        loss = train_step(w, prompt, opt, ids, targets, a, attn)
        dt = time.perf_counter() - t0
        # Minor page faults per step show how much memory the allocator hands
        # back to the OS and re-faults each step (the main "tuned" lever).
        flt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - flt0
        if i == 0:
            assert all(t.grad is None for t in w.values()), "frozen weight got a gradient"
        tag = "warmup" if i < a.warmup else "step"
        print(f"{tag} {i:2d}: {dt:7.3f} s  loss {loss.item():.6f}  minflt {flt}",
              file=sys.stderr, flush=True)
        if i >= a.warmup:
            times.append(dt)

    flops = matmul_flops(a)
    res = {
        "step_seconds_median": statistics.median(times),
        "step_seconds_min": min(times),
        "peak_rss_mib": peak_rss_mib(),
        "threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "flops_per_step": flops,
        # Settings that change the result, so a JSON file says how it was run.
        "env": {k: v for k, v in sorted(os.environ.items())
                if k in ENV_KNOBS or k.startswith(("MALLOC_", "OPENBLAS_", "TCMALLOC_"))},
    }
    print(f"torch {res['torch_version']}  threads {res['threads']}  "
          f"median {res['step_seconds_median']:.3f} s  min {res['step_seconds_min']:.3f} s  "
          f"peak RSS {res['peak_rss_mib']:.0f} MiB  "
          f"{flops / 1e9:.1f} GFLOP/step ({flops / 1e9 / res['step_seconds_median']:.1f} GFLOP/s)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
