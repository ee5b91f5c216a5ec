#!/usr/bin/python3
"""PyTorch reference for SoftPrompt's per-method training-step benchmark (bench methods).

A plain-torch GPT-2 (GPT2LMHeadModel's computation: pre-LN blocks, GELU-tanh, tied head) reads
the SAME Hugging Face checkpoint as the C# side (config.json + model.safetensors, Conv1D weights
[in, out]); every weight is frozen (requires_grad False). Each method is built as PEFT builds it,
with its parameters read from a safetensors file the C# side wrote (PEFT's names), so both sides
start from identical numbers:

  prompt   PromptEmbedding: embedding.weight [N, D]; prompts = embedding(arange(N)) for every
           row of the batch, concatenated before the token embeddings (positions 0..N+S-1).
  ptuning  PromptEncoder (MLP): embedding [N, D] -> mlp_head Linear(D,h) ReLU Linear(h,h) ReLU
           Linear(h,D), run on the batch-expanded prompt tokens as PEFT does.
  prefix   PrefixEncoder (prefix_projection): embedding [N, D] -> transform Linear(D,h) Tanh
           Linear(h, 2*L*D) on the batch-expanded tokens, viewed (B, N, 2L, H, hd), permuted
           [2,0,3,1,4] and split per layer into past keys/values; the text's positions start at N
           and every text token attends to the whole prefix.
  deep     the same with prefix_projection=False: embedding.weight [N, 2*L*D] is the prefix.
  lora     c_attn gets y += (alpha/r) * (x A^T) B^T, A = lora_A [r, D], B = lora_B [3D, r].

Loss: as PEFT's causal-LM training with labels = input_ids (virtual positions -100): mean
cross-entropy over every text token that has a preceding position, i.e. logits at the position
before each text token (the last virtual token predicts text token 0 for prompt/ptuning). The LM
head runs at those positions only (gathered before ln_f, as the C# side's OutputPositions do).
One step = zero_grad, forward, backward, AdamW(lr 1e-3, wd 0.01) on the method's parameters.

  step_methods.py --input IN.json --json OUT.json
IN.json: {"model": dir, "batch": B, "seq": S, "ids": [B*S], "dtype": "float32"|"float64",
          "check": bool, "steps": n, "warmup": w, "threads": null|n,
          "methods": [{"name", "kind", "params": file, "n": N, "lora_scale": s}]}
Timing: per method the median/min step seconds after warm-up and the first loss.
Check (--check in the input): one step; the loss and every parameter's gradient.
Run with Debian's /usr/bin/python3 through run_reference.sh --script step_methods.py.
"""
import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn.functional as F

from blas_check import require_fast_blas

ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def read_safetensors(path, dtype):
    """name -> tensor (float32 files only; no 'safetensors' package needed)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = bytearray(f.read())
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {info['dtype']}; this reader takes F32 only")
        a, b = info["data_offsets"]
        t = torch.frombuffer(data, dtype=torch.float32, count=(b - a) // 4, offset=a)
        out[name] = t.reshape(info["shape"]).to(dtype).clone()
    return out


def load_gpt2(directory, dtype):
    cfg = json.load(open(os.path.join(directory, "config.json")))
    raw = read_safetensors(os.path.join(directory, "model.safetensors"), dtype)
    pre = "transformer." if "transformer.wte.weight" in raw else ""
    w = {}
    for k, t in raw.items():
        k = k[len(pre):] if k.startswith(pre) else k
        if k.endswith(".attn.bias") or k.endswith(".attn.masked_bias"):
            continue
        # Conv1D [in, out] -> nn.Linear layout [out, in], contiguous (as step_gpt2_prompt.py).
        if t.dim() == 2 and k.startswith("h.") and k.endswith(".weight"):
            t = t.t().contiguous()
        w[k] = t.requires_grad_(False)
    cfg.setdefault("n_inner", None)
    return cfg, w


class Gpt2:
    def __init__(self, cfg, w):
        self.w, self.L, self.D, self.H = w, cfg["n_layer"], cfg["n_embd"], cfg["n_head"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)

    def loss(self, ids, targets, out_pos, virt=None, past=None, lora=None):
        """ids [B, S]; virt [B, N, D] before the text; past: per layer (k, v) [B, H, N, hd];
        lora: per layer (A, B, scale) on c_attn; out_pos: flat b*T+t positions with targets."""
        w, D, H = self.w, self.D, self.H
        B, S = ids.shape
        hd = D // H
        x = w["wte.weight"][ids]
        if virt is not None:
            x = torch.cat([virt, x], dim=1)
        T = x.shape[1]
        P = 0 if past is None else past[0][0].shape[2]
        x = x + w["wpe.weight"][P:P + T]
        # key j (prefix keys first) is hidden from query i when j - P > i
        mask = torch.ones(T, P + T, dtype=torch.bool).triu_(P + 1)
        for i in range(self.L):
            h = f"h.{i}."
            y = F.layer_norm(x, (D,), w[h + "ln_1.weight"], w[h + "ln_1.bias"], self.eps)
            qkv = F.linear(y, w[h + "attn.c_attn.weight"], w[h + "attn.c_attn.bias"])
            if lora is not None:
                A, Bm, s = lora[i]
                qkv = qkv + F.linear(F.linear(y, A), Bm) * s
            q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(D, dim=2))
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, D)
            x = x + F.linear(y, w[h + "attn.c_proj.weight"], w[h + "attn.c_proj.bias"])
            y = F.layer_norm(x, (D,), w[h + "ln_2.weight"], w[h + "ln_2.bias"], self.eps)
            y = F.gelu(F.linear(y, w[h + "mlp.c_fc.weight"], w[h + "mlp.c_fc.bias"]), approximate="tanh")
            x = x + F.linear(y, w[h + "mlp.c_proj.weight"], w[h + "mlp.c_proj.bias"])
        x = x.reshape(B * T, D).index_select(0, out_pos)
        x = F.layer_norm(x, (D,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return F.cross_entropy(x @ w["wte.weight"].t(), targets)


class Method:
    """One PEFT method: its trainable parameters (PEFT names) and what it feeds the model."""

    def __init__(self, spec, params, model):
        self.kind, self.n, self.model = spec["kind"], spec.get("n", 0), model
        self.p = {k: t.requires_grad_(True) for k, t in params.items()}
        self.scale = spec.get("lora_scale", 1.0)

    def loss(self, ids, targets, out_pos):
        p, m, B = self.p, self.model, ids.shape[0]
        if self.kind == "prompt":
            # PromptEmbedding(prompt_tokens) with prompt_tokens = arange(N) expanded over the batch
            tokens = torch.arange(self.n).unsqueeze(0).expand(B, -1)
            return m.loss(ids, targets, out_pos, virt=F.embedding(tokens, p["embedding.weight"]))
        if self.kind == "ptuning":
            tokens = torch.arange(self.n).unsqueeze(0).expand(B, -1)
            x = F.embedding(tokens, p["embedding.weight"])
            for i in (0, 2, 4):
                x = F.linear(x, p[f"mlp_head.{i}.weight"], p[f"mlp_head.{i}.bias"])
                if i < 4:
                    x = torch.relu(x)
            return m.loss(ids, targets, out_pos, virt=x)
        if self.kind in ("prefix", "deep"):
            tokens = torch.arange(self.n).unsqueeze(0).expand(B, -1)
            x = F.embedding(tokens, p["embedding.weight"])
            if self.kind == "prefix":
                x = F.linear(x, p["transform.0.weight"], p["transform.0.bias"])
                x = F.linear(torch.tanh(x), p["transform.2.weight"], p["transform.2.bias"])
            hd = m.D // m.H
            kv = x.view(B, self.n, 2 * m.L, m.H, hd).permute([2, 0, 3, 1, 4]).split(2)
            return m.loss(ids, targets, out_pos, past=[(t[0], t[1]) for t in kv])
        if self.kind == "lora":
            lora = [(p[f"transformer.h.{i}.attn.c_attn.lora_A.weight"], p[f"transformer.h.{i}.attn.c_attn.lora_B.weight"], self.scale)
                    for i in range(m.L)]
            return m.loss(ids, targets, out_pos, lora=lora)
        raise ValueError(f"unknown method kind {self.kind}")


def batch_targets(ids, n_virtual):
    """Flat output positions (b*T + t, T = N + S) and their next-token targets: every text token
    that has a position before it."""
    B, S = ids.shape
    T = n_virtual + S
    pos, tgt = [], []
    for b in range(B):
        for t in range(max(n_virtual - 1, 0), T - 1):
            pos.append(b * T + t)
            tgt.append(int(ids[b, t + 1 - n_virtual]))
    return torch.tensor(pos, dtype=torch.long), torch.tensor(tgt, dtype=torch.long)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    require_fast_blas()
    spec = json.load(open(a.input))
    if spec.get("threads"):
        torch.set_num_threads(spec["threads"])
    dtype = getattr(torch, spec.get("dtype", "float32"))
    cfg, w = load_gpt2(spec["model"], dtype)
    model = Gpt2(cfg, w)
    ids = torch.tensor(spec["ids"], dtype=torch.long).view(spec["batch"], spec["seq"])
    results = {}
    for ms in spec["methods"]:
        method = Method(ms, read_safetensors(ms["params"], dtype), model)
        n_virtual = ms["n"] if ms["kind"] in ("prompt", "ptuning") else 0
        out_pos, targets = batch_targets(ids, n_virtual)
        opt = torch.optim.AdamW(list(method.p.values()), **ADAMW)
        params = list(method.p.values())

        def step():
            opt.zero_grad(set_to_none=True)
            loss = method.loss(ids, targets, out_pos)
            loss.backward()
            opt.step()
            return loss

        if spec.get("check"):
            opt.zero_grad(set_to_none=True)
            loss = method.loss(ids, targets, out_pos)
            loss.backward()
            assert all(t.grad is None for t in w.values()), "a frozen weight got a gradient"
            results[ms["name"]] = {"loss": loss.item(),
                                   "grads": {k: t.grad.reshape(-1).tolist() for k, t in method.p.items()}}
            continue

        times, first = [], None
        for i in range(spec["warmup"] + spec["steps"]):
            t0 = time.perf_counter()
            loss = step()
            dt = time.perf_counter() - t0
            if first is None:
                first = loss.item()
            tag = "warmup" if i < spec["warmup"] else "step"
            print(f"{ms['name']}: {tag} {i:2d}: {dt:7.3f} s  loss {loss.item():.6f}", file=sys.stderr, flush=True)
            if i >= spec["warmup"]:
                times.append(dt)
        results[ms["name"]] = {"step_seconds_median": statistics.median(times), "step_seconds_min": min(times),
                               "first_loss": first, "trainable": sum(p.numel() for p in params)}
        del method, opt, params
    results["_info"] = {"torch_version": torch.__version__, "threads": torch.get_num_threads(),
                        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                        "env": {k: v for k, v in sorted(os.environ.items())
                                if k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "LD_PRELOAD", "LD_LIBRARY_PATH")
                                or k.startswith(("MALLOC_", "OPENBLAS_"))}}
    with open(a.json, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
