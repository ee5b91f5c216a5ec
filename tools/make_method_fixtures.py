#!/usr/bin/python3
"""Reference gradients for every tuning method, written the way PEFT builds each one.

Run with Debian's PyTorch: /usr/bin/python3 tools/make_method_fixtures.py
Writes tests/fixtures/tuning/methods-<model>.safetensors for the tiny GPT-2 and Llama (GQA)
checkpoints of tests/fixtures/models. For each method: its parameters (named as SoftPrompt names
them, which are PEFT's module names), the mean cross-entropy over the answer positions of a fixed
batch, and the gradient of that loss for every parameter — float64.

PEFT's constructions reproduced here: PromptEmbedding (prompt tuning); PromptEncoder with MLP or
2-layer bidirectional LSTM + MLP head (P-tuning); PrefixEncoder with and without projection, its
output viewed as (N, 2L, H, hd) and permuted [2, 0, 3, 1, 4] into per-layer keys and values
(prefix tuning, deep prompts); LoRA with y += (alpha/r)·(x Aᵀ)Bᵀ.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tensor_fixtures import write_safetensors  # noqa: E402
from make_model_fixtures import gpt2_forward, llama_forward  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests")
torch.set_default_dtype(torch.float64)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "I32": np.int32}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"]).copy())
    return out


def peft_prefix_layers(out, L, H, hd):
    """PEFT's get_prompt: [N, 2L·H·hd] -> per layer (keys, values) as [N, H·hd]."""
    N = out.shape[0]
    pkv = out.view(1, N, L * 2, H, hd).permute([2, 0, 3, 1, 4]).split(2)   # L tensors [2, 1, H, N, hd]
    return [(kv[0, 0].transpose(0, 1).reshape(N, H * hd), kv[1, 0].transpose(0, 1).reshape(N, H * hd)) for kv in pkv]


def load_model(model_name, kind):
    """A tiny fixture model: config, weights, sizes, its forward, its input embedding table (float64), the two linear
    layers LoRA adapts in the fixtures (module path -> (in, out)) and the name the forward's lora= takes for a path."""
    mdir = os.path.join(ROOT, "fixtures", "models", model_name)
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    w = read_safetensors(os.path.join(mdir, "model.safetensors"))
    if kind == "gpt2":
        w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}
        D, L, H, V = cfg["n_embd"], cfg["n_layer"], cfg["n_head"], cfg["vocab_size"]
        Hkv = H
        forward, embed = gpt2_forward, w["wte.weight"].double()
        lora_targets = {"transformer.h.0.attn.c_attn": (D, 3 * D), "transformer.h.1.mlp.c_fc": (D, 4 * D)}
        ref_name = lambda n: n[len("transformer."):]
    else:
        D, L, H, V = cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["vocab_size"]
        Hkv = cfg["num_key_value_heads"]
        forward, embed = llama_forward, w["model.embed_tokens.weight"].double()
        kvw = Hkv * (D // H)
        lora_targets = {"model.layers.0.self_attn.q_proj": (D, D), "model.layers.1.self_attn.v_proj": (D, kvw)}
        ref_name = lambda n: n
    return cfg, w, (D, L, H, V, Hkv), forward, embed, lora_targets, ref_name


def make(model_name, kind):
    cfg, w, (D, L, H, V, Hkv), forward, embed, lora_targets, ref_name = load_model(model_name, kind)
    hd = D // H
    W = Hkv * hd
    gen = torch.Generator().manual_seed(77)
    B, T, N = 2, 10, 4
    ids = torch.randint(0, V, (B, T), generator=gen)
    answer = [(b, t) for b in range(B) for t in range(T - 4, T - 1)]   # positions whose next token is scored
    targets = torch.tensor([ids[b, t + 1].item() for b, t in answer])
    out = {"ids": ids.numpy().astype(np.int32),
           "output_positions": np.array([b * T + t for b, t in answer], np.int32),
           "targets": targets.numpy().astype(np.int32)}
    meta = {"note": f"{model_name}: tuning-method losses and gradients, float64, PEFT constructions"}

    def loss_of(logits):
        sel = torch.stack([logits[b, t] for b, t in answer])
        return nn.functional.cross_entropy(sel, targets)

    def record(name, module_params, loss):
        loss.backward()
        out[f"{name}/loss"] = np.array([loss.item()], np.float32)
        for pname, p in module_params:
            out[f"{name}/{pname}"] = p.detach().float().numpy()
            out[f"{name}/grad/{pname}"] = p.grad.float().numpy()

    def splice(soft, slots):
        """Every row gets the same virtual tokens: slots = [(position, virtual_start, count)]."""
        e = embed[ids].clone()
        for pos, start, count in slots:
            e[:, pos:pos + count] = soft[start:start + count]
        return e

    def rnd(*shape, std=0.5):
        return nn.Parameter(torch.randn(*shape, generator=gen) * std)

    # prompt tuning: 4 tokens at the front (PEFT's prepend = slots at 0..3)
    emb = rnd(N, D)
    record("prompt", [("embedding.weight", emb)], loss_of(forward(cfg, w, ids, embeds=splice(emb, [(0, 0, N)]))))

    # P-tuning, LSTM and MLP encoders, tokens placed 2 + 2 (a template, not only the front)
    for enc in ("lstm", "mlp"):
        h = 6
        torch.manual_seed(5)
        inp = rnd(N, D)
        if enc == "lstm":
            lstm = nn.LSTM(D, h, num_layers=2, bidirectional=True, batch_first=True)
            head = nn.Sequential(nn.Linear(2 * h, 2 * h), nn.ReLU(), nn.Linear(2 * h, D))
            for p in list(lstm.parameters()) + list(head.parameters()):
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
            soft = head(lstm(inp.unsqueeze(0))[0]).squeeze(0)
            params = [("embedding.weight", inp)] + [("lstm_head." + n, p) for n, p in lstm.named_parameters()] + \
                     [("mlp_head." + n, p) for n, p in head.named_parameters()]
        else:
            head = nn.Sequential(nn.Linear(D, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, D))
            for p in head.parameters():
                with torch.no_grad():
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
            soft = head(inp)
            params = [("embedding.weight", inp)] + [("mlp_head." + n, p) for n, p in head.named_parameters()]
        record(f"ptuning_{enc}", params, loss_of(forward(cfg, w, ids, embeds=splice(soft, [(0, 0, 2), (5, 2, 2)]))))

    # prefix tuning with the reparametrisation (token_dim = W, heads = Hkv under GQA)
    hp = 7
    pemb = rnd(N, W)
    transform = nn.Sequential(nn.Linear(W, hp), nn.Tanh(), nn.Linear(hp, L * 2 * W))
    for p in transform.parameters():
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.4)
    prefix = peft_prefix_layers(transform(pemb), L, Hkv, hd)
    params = [("embedding.weight", pemb)] + [("transform." + n, p) for n, p in transform.named_parameters()]
    record("prefix", params, loss_of(forward(cfg, w, ids, prefix=prefix)))

    # deep prompts: the prefix matrix itself
    deep = rnd(N, L * 2 * W)
    record("deep", [("embedding.weight", deep)], loss_of(forward(cfg, w, ids, prefix=peft_prefix_layers(deep, L, Hkv, hd))))

    # LoRA, r = 2, alpha = 4 (scale 2), B non-zero so both factors get gradients
    lora, params = {}, []
    for name, (fin, fout) in lora_targets.items():
        a, b = rnd(2, fin, std=0.3), rnd(fout, 2, std=0.3)
        lora[ref_name(name)] = (a, b, 2.0)
        params += [(name + ".lora_A.weight", a), (name + ".lora_B.weight", b)]
    record("lora", params, loss_of(forward(cfg, w, ids, lora=lora)))
    meta["lora_targets"] = ",".join(lora_targets)

    # Petrov et al.'s prefix: [P, D] per layer over the attention input at positions 0..P-1
    aps = [rnd(N, D) for _ in range(L)]
    record("attn_prefix", [(f"prefix.{l}", p) for l, p in enumerate(aps)], loss_of(forward(cfg, w, ids, attn_prefix=aps)))

    # full fine-tuning as a dense delta per linear layer: y = x (W + ΔW)ᵀ + b, ΔW [out, in]
    dense, params = {}, []
    for name, (fin, fout) in lora_targets.items():
        dw = rnd(fout, fin, std=0.05)
        dense[ref_name(name)] = (dw, torch.eye(fout), 1.0)
        params.append((name + ".delta_weight", dw))
    record("full", params, loss_of(forward(cfg, w, ids, lora=dense)))

    path = os.path.join(ROOT, "fixtures", "tuning", f"methods-{model_name}.safetensors")
    write_safetensors(path, out, meta)
    print(f"{path}: {len(out)} tensors")


if __name__ == "__main__":
    make("gpt2-tiny", "gpt2")
    make("llama-tiny-gqa", "llama")
