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


def gpt2_forward(cfg, w, ids, embeds=None, prefix=None, lora=None, attn_prefix=None, return_hidden=False,
                 record_kv=None):
    """modeling_gpt2.py's GPT2LMHeadModel forward, float64, no padding.

    The prompt-plan hooks, as PEFT applies them (one row at a time when prefix is given):
    embeds replaces wte[ids] (virtual tokens spliced into inputs_embeds); prefix is, per layer,
    (keys [P, D], values [P, D]) seen by every query as a past of length P, so the text's positions
    start at P; lora maps a module name ("h.0.attn.c_attn") to (A [r, in], B [out, r], scale)
    adding scale·(x Aᵀ) Bᵀ to that layer's output; attn_prefix is, per layer, [P, D] written over the
    hidden state entering the attention block (before ln_1) at positions 0..P-1 (Petrov et al.'s prefix:
    their minGPT computes ln_1(cat(prefix, x[:, P:])); the residual stream keeps x).

    Optional outputs (the defaults change nothing): record_kv, a list, receives per layer the (keys, values)
    [B, T, H·hd] the attention scores for the T input positions (a prefix's own keys/values not included);
    return_hidden=True returns (logits, ln_f(h)) instead of logits.
    """
    w = {k: t.double() for k, t in w.items()}
    lora = lora or {}
    B, T = ids.shape
    d, H = cfg["n_embd"], cfg["n_head"]
    hd, eps = d // H, cfg["layer_norm_epsilon"]
    P = 0 if prefix is None else prefix[0][0].shape[0]

    def conv1d(x, name):
        y = x @ w[name + ".weight"] + w[name + ".bias"]
        if name in lora:
            a, b, scale = lora[name]
            y = y + scale * (x @ a.t()) @ b.t()
        return y

    # positions: after a key/value prefix of P the text starts at P; an attention-input prefix's slots are
    # ordinary positions (the authors' minGPT writes it over the hidden state at positions 0..A-1)
    pos = torch.arange(P, P + T)
    x = (w["wte.weight"][ids] if embeds is None else embeds) + w["wpe.weight"][pos]
    mask = torch.ones(T, P + T, dtype=torch.bool).triu(P + 1)
    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        a = x
        if attn_prefix is not None:
            a = torch.cat([attn_prefix[i].unsqueeze(0).expand(B, -1, -1), a[:, attn_prefix[i].shape[0]:]], 1)
        if not cfg.get("softprompt_skip_ln_1"):
            a = F.layer_norm(a, (d,), w[h + "ln_1.weight"], w[h + "ln_1.bias"], eps)
        qkv = conv1d(a, h + "attn.c_attn")
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(d, dim=2))
        if record_kv is not None:
            record_kv.append((k.transpose(1, 2).reshape(B, T, d), v.transpose(1, 2).reshape(B, T, d)))
        if P:
            pk, pv = (t.view(1, P, H, hd).transpose(1, 2).expand(B, H, P, hd) for t in prefix[i])
            k, v = torch.cat([pk, k], 2), torch.cat([pv, v], 2)
        att = (q @ k.transpose(-1, -2)) / hd ** 0.5
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + conv1d(y, h + "attn.c_proj")
        a = F.layer_norm(x, (d,), w[h + "ln_2.weight"], w[h + "ln_2.bias"], eps)
        a = F.gelu(conv1d(a, h + "mlp.c_fc"), approximate="tanh")
        x = x + conv1d(a, h + "mlp.c_proj")
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], eps)
    logits = x @ (w["wte.weight"] if cfg.get("tie_word_embeddings", True) else w["lm_head.weight"]).t()
    return (logits, x) if return_hidden else logits


def write_gpt2(name, prefix, mask_buffers, seed, petrov=False):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 61, "n_embd": 32, "n_layer": 2,
           "n_head": 4, "n_positions": 24, "n_inner": None, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new", "tie_word_embeddings": True, "torch_dtype": "float32"}
    gen = torch.Generator().manual_seed(seed)
    w = gpt2_weights(cfg, gen)
    if petrov:
        # Petrov et al.'s setup-2 model: no first LayerNorm in the blocks, minGPT's untied head without bias.
        cfg.update({"softprompt_skip_ln_1": True, "tie_word_embeddings": False})
        for i in range(cfg["n_layer"]):
            del w[f"h.{i}.ln_1.weight"], w[f"h.{i}.ln_1.bias"]
        w["lm_head.weight"] = (torch.randn(cfg["vocab_size"], cfg["n_embd"], generator=gen, dtype=torch.float64) * 0.1).float()
    ids = torch.randint(0, cfg["vocab_size"], (2, 9), generator=gen)
    logits = gpt2_forward(cfg, w, ids)
    out = dict(w)
    if mask_buffers:
        P = cfg["n_positions"]
        for i in range(cfg["n_layer"]):
            out[f"h.{i}.attn.bias"] = torch.ones(P, P).tril().view(1, 1, P, P)
    out = {(k if k == "lm_head.weight" else prefix + k): v.numpy().astype(np.float32) for k, v in out.items()}
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), out, {"format": "pt"})
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"ids": ids.numpy().astype(np.int32), "logits": logits.numpy().astype(np.float32)},
                      {"note": "GPT2LMHeadModel logits for ids, float64 reference"})
    print(f"{d}: logits {tuple(logits.shape)}")
    write_plan(d, "gpt2", cfg, w, gen)


def llama_inv_freq(cfg):
    """HF's rotary inverse frequencies (float32), with llama3 or linear rope_scaling."""
    hd = cfg["hidden_size"] // cfg["num_attention_heads"]
    inv = (1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))).float()
    rs = cfg.get("rope_scaling")
    if rs is None:
        return inv
    if rs["rope_type"] == "linear":
        return inv / rs["factor"]
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / lo, old / hi
    wavelen = 2 * torch.pi / inv
    inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - lo) / (hi - lo)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, inv_l).float()


def llama_weights(cfg, gen):
    d, i_, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // H

    def rnd(*shape, base=0.0, std=0.1):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std + base).float()

    w = {"model.embed_tokens.weight": rnd(v, d)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = rnd(d, base=1.0)
        w[p + "self_attn.q_proj.weight"] = rnd(H * hd, d)
        w[p + "self_attn.k_proj.weight"] = rnd(Hkv * hd, d)
        w[p + "self_attn.v_proj.weight"] = rnd(Hkv * hd, d)
        if cfg["model_type"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = rnd(H * hd)
            w[p + "self_attn.k_proj.bias"] = rnd(Hkv * hd)
            w[p + "self_attn.v_proj.bias"] = rnd(Hkv * hd)
        w[p + "self_attn.o_proj.weight"] = rnd(d, H * hd)
        w[p + "post_attention_layernorm.weight"] = rnd(d, base=1.0)
        w[p + "mlp.gate_proj.weight"] = rnd(i_, d)
        w[p + "mlp.up_proj.weight"] = rnd(i_, d)
        w[p + "mlp.down_proj.weight"] = rnd(d, i_)
    w["model.norm.weight"] = rnd(d, base=1.0)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = rnd(v, d)
    return w


def llama_forward(cfg, w, ids, embeds=None, prefix=None, lora=None, attn_prefix=None, return_hidden=False,
                  record_kv=None):
    """modeling_llama.py / modeling_qwen2.py forward, float64 except the float32 rotary angles.

    Plan hooks as in gpt2_forward: prefix keys are [P, Hkv·hd] already rotated (a past carries no
    further rotation) and the text's positions start at P; lora names are "model.layers.0.self_attn.q_proj".
    record_kv / return_hidden as in gpt2_forward: keys [B, T, Hkv·hd] after the rotary embedding at their
    positions, values as projected (before any GQA repeat); hidden = the final norm's output.
    """
    w = {k: t.double() for k, t in w.items()}
    lora = lora or {}
    B, T = ids.shape
    d, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps = d // H, cfg["rms_norm_eps"]
    P = 0 if prefix is None else prefix[0][0].shape[0]
    pos = torch.arange(P, P + T)   # an attention-input prefix's slots keep their positions
    angles = (pos.float()[:, None] * llama_inv_freq(cfg)[None, :]).double()   # float32 products, as HF
    cos, sin = torch.cat([angles.cos()] * 2, -1), torch.cat([angles.sin()] * 2, -1)

    def rms(x, g):
        return g * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rope(x):  # x: [B, h, T, hd]
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def lin(x, name):
        y = x @ w[name + ".weight"].t()
        y = y + w[name + ".bias"] if name + ".bias" in w else y
        if name in lora:
            a, b, scale = lora[name]
            y = y + scale * (x @ a.t()) @ b.t()
        return y

    x = w["model.embed_tokens.weight"][ids] if embeds is None else embeds
    mask = torch.ones(T, P + T, dtype=torch.bool).triu(P + 1)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        a = x
        if attn_prefix is not None:
            a = torch.cat([attn_prefix[l].unsqueeze(0).expand(B, -1, -1), a[:, attn_prefix[l].shape[0]:]], 1)
        a = rms(a, w[p + "input_layernorm.weight"])
        q = lin(a, p + "self_attn.q_proj").view(B, T, H, hd).transpose(1, 2)
        k = lin(a, p + "self_attn.k_proj").view(B, T, Hkv, hd).transpose(1, 2)
        v = lin(a, p + "self_attn.v_proj").view(B, T, Hkv, hd).transpose(1, 2)
        q, k = rope(q), rope(k)
        if record_kv is not None:
            record_kv.append((k.transpose(1, 2).reshape(B, T, Hkv * hd), v.transpose(1, 2).reshape(B, T, Hkv * hd)))
        if P:
            pk, pv = (t.view(1, P, Hkv, hd).transpose(1, 2).expand(B, Hkv, P, hd) for t in prefix[l])
            k, v = torch.cat([pk, k], 2), torch.cat([pv, v], 2)
        k, v = k.repeat_interleave(H // Hkv, dim=1), v.repeat_interleave(H // Hkv, dim=1)
        att = torch.softmax(((q @ k.transpose(-1, -2)) / hd ** 0.5).masked_fill(mask, float("-inf")), -1)
        x = x + lin((att @ v).transpose(1, 2).reshape(B, T, H * hd), p + "self_attn.o_proj")
        a = rms(x, w[p + "post_attention_layernorm.weight"])
        x = x + lin(F.silu(lin(a, p + "mlp.gate_proj")) * lin(a, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms(x, w["model.norm.weight"])
    head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]
    logits = x @ head.t()
    return (logits, x) if return_hidden else logits


def write_plan(d, kind, cfg, w, gen):
    """plan.safetensors: a batch of 4 rows with different prompt plans, each row's logits computed
    alone, and the gradients of L = Σ logits·R for every plan tensor; plus the input-embedding
    gradient of the plain forward (no plan) for the same R.

    row 0: 3 soft tokens at positions 0..2 and two LoRA deltas (lora0 on the first layer's query
           projection, lora1 on the last layer's MLP output); row 1: a prefix of length 2;
    row 2: a prefix of length 3, 2 soft tokens at positions 4..5 and lora0 (shared with row 0);
    row 3: no plan. Then every row with an attention-input prefix of 3 (attnin{l}, attn_logits, grad_attnin{l}).
    """
    T = 8
    if kind == "gpt2":
        D, V, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_layer"]
        W = D
        m0, in0, out0 = "h.0.attn.c_attn", D, 3 * D
        m1, in1, out1 = f"h.{L - 1}.mlp.c_proj", 4 * D, D
        embed, forward = w["wte.weight"].double(), gpt2_forward
    else:
        D, V, L = cfg["hidden_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
        W = cfg["num_key_value_heads"] * (D // cfg["num_attention_heads"])
        m0, in0, out0 = "model.layers.0.self_attn.q_proj", D, D
        m1, in1, out1 = f"model.layers.{L - 1}.mlp.down_proj", cfg["intermediate_size"], D
        embed, forward = w["model.embed_tokens.weight"].double(), llama_forward

    def leaf(*shape, std=0.5):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).requires_grad_()

    ids = torch.randint(0, V, (4, T), generator=gen)
    t = {"soft0": leaf(3, D), "soft2": leaf(2, D),
         "lora0_a": leaf(2, in0), "lora0_b": leaf(out0, 2), "lora1_a": leaf(1, in1), "lora1_b": leaf(out1, 1)}
    for row, P in ((1, 2), (2, 3)):
        for l in range(L):
            t[f"prefix{row}_k{l}"] = leaf(P, W)
            t[f"prefix{row}_v{l}"] = leaf(P, W)
    R = torch.randn(4, T, V, generator=gen, dtype=torch.float64)
    lora0 = (t["lora0_a"], t["lora0_b"], 2.0)
    lora1 = (t["lora1_a"], t["lora1_b"], 0.5)

    def prefix(row):
        return [(t[f"prefix{row}_k{l}"], t[f"prefix{row}_v{l}"]) for l in range(L)]

    def splice(row, pos, soft):
        e = embed[ids[row:row + 1]].clone()
        e[0, pos:pos + soft.shape[0]] = soft
        return e

    rows = [forward(cfg, w, ids[0:1], embeds=splice(0, 0, t["soft0"]), lora={m0: lora0, m1: lora1}),
            forward(cfg, w, ids[1:2], prefix=prefix(1)),
            forward(cfg, w, ids[2:3], embeds=splice(2, 4, t["soft2"]), prefix=prefix(2), lora={m0: lora0}),
            forward(cfg, w, ids[3:4])]
    logits = torch.cat(rows, 0)
    (logits * R).sum().backward()
    out = {"ids": ids.numpy().astype(np.int32), "R": R.float().numpy(), "logits": logits.detach().float().numpy()}
    for k, v in t.items():
        out[k] = v.detach().float().numpy()
        out["grad_" + k] = v.grad.float().numpy()

    # the input-embedding gradient of the plain forward
    embeds = embed[ids].clone().requires_grad_()
    plain = forward(cfg, w, ids, embeds=embeds)
    (plain * R).sum().backward()
    out["plain_logits"] = plain.detach().float().numpy()
    out["grad_embeds"] = embeds.grad.float().numpy()

    # Petrov et al.'s attention-input prefix: per layer [3, D] over every row's first 3 positions; logits and
    # the gradients of the same L (drawn last, so the fixture's other tensors do not change)
    attn = [leaf(3, D, std=1.0) for _ in range(L)]
    attn_logits = forward(cfg, w, ids, attn_prefix=attn)
    (attn_logits * R).sum().backward()
    out["attn_logits"] = attn_logits.detach().float().numpy()
    for l, a in enumerate(attn):
        out[f"attnin{l}"] = a.detach().float().numpy()
        out[f"grad_attnin{l}"] = a.grad.float().numpy()
    meta = {"note": f"{kind}: per-row prompt plans, each row computed alone, float64", "lora0": m0, "lora1": m1,
            "lora0_scale": "2.0", "lora1_scale": "0.5"}
    write_safetensors(os.path.join(d, "plan.safetensors"), out, meta)
    print(f"{d}: plan fixture, logits {tuple(logits.shape)}")


def write_llama(name, cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    w = llama_weights(cfg, gen)
    ids = torch.randint(0, cfg["vocab_size"], (2, 11), generator=gen)
    logits = llama_forward(cfg, w, ids)
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d, "model.safetensors"), {k: v.numpy().astype(np.float32) for k, v in w.items()}, {"format": "pt"})
    write_safetensors(os.path.join(d, "expected.safetensors"),
                      {"ids": ids.numpy().astype(np.int32), "logits": logits.numpy().astype(np.float32)},
                      {"note": f"{cfg['model_type']} logits for ids, float64 reference"})
    print(f"{d}: logits {tuple(logits.shape)}")
    write_plan(d, "llama", cfg, w, gen)


if __name__ == "__main__":
    write_llama("llama-tiny-gqa", {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 67, "hidden_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 48,
        "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "hidden_act": "silu",
        "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 16},
        "tie_word_embeddings": False, "torch_dtype": "float32"}, seed=21)
    write_llama("qwen2-tiny", {
        "model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 59, "hidden_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1, "intermediate_size": 40,
        "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "hidden_act": "silu",
        "tie_word_embeddings": True, "torch_dtype": "float32"}, seed=22)
    write_gpt2("gpt2-tiny", prefix="transformer.", mask_buffers=True, seed=11)
    write_gpt2("gpt2-tiny-noprefix", prefix="", mask_buffers=False, seed=12)
    write_gpt2("gpt2-tiny-petrov", prefix="transformer.", mask_buffers=False, seed=13, petrov=True)
