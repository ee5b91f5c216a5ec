#!/usr/bin/python3
"""Tiny random checkpoints in exact Hugging Face layout, with reference logits.

Run with Debian's PyTorch: /usr/bin/python3 tools/make_model_fixtures.py
Writes tests/fixtures/models/<name>/{config.json, model.safetensors, expected.safetensors}.

GPT-2 is written as GPT2LMHeadModel saves it: Conv1D weights [in, out], c_attn holding q|k|v by
columns, a tied head (no lm_head.weight in the file), and optionally the "transformer." prefix and
the old attn.bias causal-mask buffers. The reference forward is written out here in float64 (no
transformers package on this machine), following modeling_gpt2.py: pre-LayerNorm blocks,
gelu_new (tanh), learned positions, logits = ln_f(h) @ wte^T.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tensor_fixtures import write_safetensors  # noqa: E402  (same hand-written format)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "models")


def gpt2_weights(cfg, gen):
    d, m, v, p = cfg["n_embd"], 4 * cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]

    def rnd(*shape, base=0.0, std=0.1):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std + base).float()

    w = {"wte.weight": rnd(v, d), "wpe.weight": rnd(p, d)}
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        w[h + "ln_1.weight"] = rnd(d, base=1.0)
        w[h + "ln_1.bias"] = rnd(d)
        w[h + "attn.c_attn.weight"] = rnd(d, 3 * d)   # Conv1D: [in, out]
        w[h + "attn.c_attn.bias"] = rnd(3 * d)
        w[h + "attn.c_proj.weight"] = rnd(d, d)
        w[h + "attn.c_proj.bias"] = rnd(d)
        w[h + "ln_2.weight"] = rnd(d, base=1.0)
        w[h + "ln_2.bias"] = rnd(d)
        w[h + "mlp.c_fc.weight"] = rnd(d, m)
        w[h + "mlp.c_fc.bias"] = rnd(m)
        w[h + "mlp.c_proj.weight"] = rnd(m, d)
        w[h + "mlp.c_proj.bias"] = rnd(d)
    w["ln_f.weight"] = rnd(d, base=1.0)
    w["ln_f.bias"] = rnd(d)
    return w


def gpt2_forward(cfg, w, ids):
    """modeling_gpt2.py's GPT2LMHeadModel forward, float64, no padding."""
    w = {k: t.double() for k, t in w.items()}
    B, T = ids.shape
    d, H = cfg["n_embd"], cfg["n_head"]
    hd, eps = d // H, cfg["layer_norm_epsilon"]
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        a = F.layer_norm(x, (d,), w[h + "ln_1.weight"], w[h + "ln_1.bias"], eps)
        qkv = a @ w[h + "attn.c_attn.weight"] + w[h + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(d, dim=2))
        att = (q @ k.transpose(-1, -2)) / hd ** 0.5
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + y @ w[h + "attn.c_proj.weight"] + w[h + "attn.c_proj.bias"]
        a = F.layer_norm(x, (d,), w[h + "ln_2.weight"], w[h + "ln_2.bias"], eps)
        a = F.gelu(a @ w[h + "mlp.c_fc.weight"] + w[h + "mlp.c_fc.bias"], approximate="tanh")
        x = x + a @ w[h + "mlp.c_proj.weight"] + w[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].t()


def write_gpt2(name, prefix, mask_buffers, seed):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 61, "n_embd": 32, "n_layer": 2,
           "n_head": 4, "n_positions": 24, "n_inner": None, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new", "tie_word_embeddings": True, "torch_dtype": "float32"}
    gen = torch.Generator().manual_seed(seed)
    w = gpt2_weights(cfg, gen)
    ids = torch.randint(0, cfg["vocab_size"], (2, 9), generator=gen)
    logits = gpt2_forward(cfg, w, ids)
    out = dict(w)
    if mask_buffers:
        P = cfg["n_positions"]
        for i in range(cfg["n_layer"]):
            out[f"h.{i}.attn.bias"] = torch.ones(P, P).tril().view(1, 1, P, P)
    out = {prefix + k: v.numpy().astype(np.float32) for k, v in out.items()}
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), out, {"format": "pt"})
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"ids": ids.numpy().astype(np.int32), "logits": logits.numpy().astype(np.float32)},
                      {"note": "GPT2LMHeadModel logits for ids, float64 reference"})
    print(f"{d}: logits {tuple(logits.shape)}")


if __name__ == "__main__":
    write_gpt2("gpt2-tiny", prefix="transformer.", mask_buffers=True, seed=11)
    write_gpt2("gpt2-tiny-noprefix", prefix="", mask_buffers=False, seed=12)
