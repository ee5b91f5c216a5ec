#!/usr/bin/python3
"""Reference losses and gradients for MetaL-Prompt's prompt generation model (PGM), float64.

Run with Debian's PyTorch: /usr/bin/python3 tools/make_metal_fixtures.py
Writes tests/fixtures/metal/pgm-<model>.safetensors for the tiny GPT-2 and Llama (GQA) checkpoints of
tests/fixtures/models (loaded as tools/make_method_fixtures.py loads them).

The construction, per model, everything drawn from one torch.Generator seeded 91, in this order:
  ids_p [T_P = 6] and ids_t [B = 2, T = 8] (randint over the vocabulary); the trainable padding, P-tuning's
  MLP PromptEncoder as PEFT builds it (and as make_method_fixtures' ptuning_mlp case does): input
  padding.embedding.weight [M = 3, D] (randn·0.5) through Linear(D, 6), ReLU, Linear(6, 6), ReLU,
  Linear(6, D) (every head parameter randn·0.4, in named_parameters order) -> pads [M, D]; the PGM's LoRA,
  r = 2, alpha = 4 (scale 2), on make_method_fixtures' targets, A [2, in] then B [out, 2] per target, both
  randn·0.3; last the Gumbel uniforms U [M, V] (rand), noise g = -log(-log U). Every drawn float is rounded
  to float32 before use, so the stored float32 values are exactly the inputs of the float64 reference.

  PGM pass (the model WITH the LoRA): embeds = cat(E[ids_p], pads) [1, T_P + M, D], E the input embedding
  table [V, D]. At the pad positions T_P..T_P+M-1 it gives logits [M, V], the final hidden states [M, D]
  (after the final norm: the LM head's input) and every layer's keys/values [M, Hkv·hd] as the attention
  scores them (Llama: keys after the rotary embedding at positions T_P..T_P+M-1; values as projected).

  Four prompt designs:
    hidden    prompt = final hidden states [M, D]
    weighted  prompt = softmax(logits) @ E
    discrete  straight-through Gumbel-softmax, tau = 0.7: y_soft = softmax((logits + g) / tau),
              y_hard = one_hot(argmax y_soft), y = y_hard - y_soft.detach() + y_soft, prompt = y @ E
    prefix    the per-layer (keys, values) at the pad positions: a key/value prefix of length M
  Target pass (the frozen model, no LoRA): hidden/weighted/discrete: embeds = cat(prompt broadcast to
  [B, M, D], E[ids_t]) [B, M + T, D], scored positions t in (M+T-4, M+T-3, M+T-2) predicting
  ids_t[b, t - M + 1]; prefix: forward(ids_t, prefix=...) (the text's positions start at M, as the
  existing prefix= hook numbers them), scored positions t in (T-4, T-3, T-2) predicting ids_t[b, t + 1].
  Loss = mean cross-entropy over the 2·3 scored positions; gradients of each design's loss for every PGM
  parameter (padding and LoRA). For discrete they flow only through y_soft.

Stored (float32 values, int32 ids): ids_p, ids_t, gumbel_noise [M, V], tau [1], targets [6],
output_positions [6] (b·(M+T)+t), prefix_output_positions [6] (b·T+t), param/<name>, and per design d:
d/loss [1], d/grad/<name>, d/prompt [M, D] (hidden, weighted, discrete), prefix/keys.<l> and
prefix/values.<l> [M, Hkv·hd], discrete/ids [M]. Parameter names: padding.embedding.weight,
padding.mlp_head.{0,2,4}.{weight,bias}, lora.<module>.lora_A.weight, lora.<module>.lora_B.weight.

Also printed, not stored: a central finite-difference check (float64) of one padding and one LoRA entry
per design; for discrete, of the straight-through surrogate L(y_hard + y_soft(θ) - y_soft(θ0)), whose
gradient at θ0 is the straight-through gradient (the loss itself is piecewise constant in θ).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_tensor_fixtures import write_safetensors  # noqa: E402
from make_method_fixtures import load_model  # noqa: E402  (importing it writes nothing)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests")
torch.set_default_dtype(torch.float64)

T_P, M, B, T = 6, 3, 2, 8
TAU = 0.7
DESIGNS = ("hidden", "weighted", "discrete", "prefix")


def f32(t):
    """Round to the nearest float32, kept as float64: the stored value is the value used."""
    return t.float().double()


def make(model_name, kind):
    cfg, w, (D, L, H, V, Hkv), forward, embed, lora_targets, ref_name = load_model(model_name, kind)
    hd = D // H
    W = Hkv * hd
    gen = torch.Generator().manual_seed(91)

    ids_p = torch.randint(0, V, (T_P,), generator=gen)
    ids_t = torch.randint(0, V, (B, T), generator=gen)

    def rnd(*shape, std):
        return nn.Parameter(f32(torch.randn(*shape, generator=gen) * std))

    # trainable padding: PEFT's PromptEncoder, MLP head (as make_method_fixtures' ptuning_mlp)
    h = 6
    torch.manual_seed(5)
    pad_in = rnd(M, D, std=0.5)
    head = nn.Sequential(nn.Linear(D, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, D))
    for p in head.parameters():
        with torch.no_grad():
            p.copy_(f32(torch.randn(p.shape, generator=gen) * 0.4))
    params = [("padding.embedding.weight", pad_in)] + [("padding.mlp_head." + n, p) for n, p in head.named_parameters()]

    # the PGM's LoRA, r = 2, alpha = 4
    lora = {}
    for name, (fin, fout) in lora_targets.items():
        a, b = rnd(2, fin, std=0.3), rnd(fout, 2, std=0.3)
        lora[ref_name(name)] = (a, b, 2.0)
        params += [(f"lora.{name}.lora_A.weight", a), (f"lora.{name}.lora_B.weight", b)]

    u = f32(torch.rand(M, V, generator=gen))
    assert bool((u > 0).all()) and bool((u < 1).all())
    gumbel = f32(-torch.log(-torch.log(u)))

    # scored positions and targets
    soft_pos = [(b, t) for b in range(B) for t in (M + T - 4, M + T - 3, M + T - 2)]
    pre_pos = [(b, t) for b in range(B) for t in (T - 4, T - 3, T - 2)]
    targets = torch.tensor([ids_t[b, t - M + 1].item() for b, t in soft_pos])
    assert targets.tolist() == [ids_t[b, t + 1].item() for b, t in pre_pos]

    def pgm():
        pads = head(pad_in)
        e = torch.cat([embed[ids_p], pads], 0).unsqueeze(0)
        kv = []
        logits, hidden = forward(cfg, w, torch.zeros(1, T_P + M, dtype=torch.long), embeds=e, lora=lora,
                                 return_hidden=True, record_kv=kv)
        return (logits[0, T_P:], hidden[0, T_P:], [(k[0, T_P:], v[0, T_P:]) for k, v in kv])

    def target_soft(prompt):
        e = torch.cat([prompt.unsqueeze(0).expand(B, M, D), embed[ids_t]], 1)
        logits = forward(cfg, w, torch.zeros(B, M + T, dtype=torch.long), embeds=e)
        return nn.functional.cross_entropy(torch.stack([logits[b, t] for b, t in soft_pos]), targets)

    def target_prefix(prefix):
        logits = forward(cfg, w, ids_t, prefix=prefix)
        return nn.functional.cross_entropy(torch.stack([logits[b, t] for b, t in pre_pos]), targets)

    def design(d, st_base=None):
        """(loss, what the design made). st_base = (y_hard, y_soft at θ0) gives discrete's surrogate."""
        logits, hidden, kv = pgm()
        if d == "hidden":
            return target_soft(hidden), hidden
        if d == "weighted":
            prompt = torch.softmax(logits, -1) @ embed
            return target_soft(prompt), prompt
        if d == "discrete":
            y_soft = torch.softmax((logits + gumbel) / TAU, -1)
            if st_base is None:
                y_hard = nn.functional.one_hot(y_soft.argmax(-1), V).to(y_soft.dtype)
                y = y_hard - y_soft.detach() + y_soft
            else:
                y = st_base[0] + (y_soft - st_base[1])
            prompt = y @ embed
            return target_soft(prompt), (prompt, y_soft)
        return target_prefix(kv), kv

    out = {"ids_p": ids_p.numpy().astype(np.int32), "ids_t": ids_t.numpy().astype(np.int32),
           "gumbel_noise": gumbel.float().numpy(), "tau": np.array([TAU], np.float32),
           "targets": targets.numpy().astype(np.int32),
           "output_positions": np.array([b * (M + T) + t for b, t in soft_pos], np.int32),
           "prefix_output_positions": np.array([b * T + t for b, t in pre_pos], np.int32)}
    for n, p in params:
        out[f"param/{n}"] = p.detach().float().numpy()

    print(f"{model_name}:")
    fd_names = ["padding.embedding.weight", f"lora.{list(lora_targets)[0]}.lora_A.weight",
                f"lora.{list(lora_targets)[1]}.lora_B.weight"]
    for d in DESIGNS:
        for _, p in params:
            p.grad = None
        loss, made = design(d)
        loss.backward()
        assert torch.isfinite(loss)
        out[f"{d}/loss"] = np.array([loss.item()], np.float32)
        for n, p in params:
            if p.grad is None:   # no path to the loss: prefix reads no LoRA after the last layer's attention
                assert d == "prefix" and n.startswith(f"lora.{list(lora_targets)[1]}") and kind == "gpt2", (d, n)
                p.grad = torch.zeros_like(p)
                print(f"    {d}: {n} has no path to the loss (gradient 0)")
            assert bool(torch.isfinite(p.grad).all()), (d, n)
            out[f"{d}/grad/{n}"] = p.grad.float().numpy()
        pad_norm = sum(p.grad.norm() ** 2 for n, p in params if n.startswith("padding.")) ** 0.5
        lora_norm = sum(p.grad.norm() ** 2 for n, p in params if n.startswith("lora.")) ** 0.5
        assert pad_norm > 0 and lora_norm > 0, (d, pad_norm, lora_norm)
        st_base = None
        if d == "prefix":
            for l, (k, v) in enumerate(made):
                out[f"prefix/keys.{l}"] = k.detach().float().numpy()
                out[f"prefix/values.{l}"] = v.detach().float().numpy()
        elif d == "discrete":
            prompt, y_soft = made
            out["discrete/prompt"] = prompt.detach().float().numpy()
            ids = y_soft.argmax(-1)
            out["discrete/ids"] = ids.numpy().astype(np.int32)
            top2 = y_soft.detach().topk(2, -1).values
            margin = (top2[:, 0] - top2[:, 1]).min().item()
            st_base = (nn.functional.one_hot(ids, V).to(y_soft.dtype), y_soft.detach())
        else:
            out[f"{d}/prompt"] = made.detach().float().numpy()
        print(f"  {d:9s} loss {loss.item():.10f}  |grad| padding {pad_norm:.4e} lora {lora_norm:.4e}"
              + (f"  ids {out['discrete/ids'].tolist()} min top-2 margin of y_soft {margin:.3e}" if d == "discrete" else ""))

        # central finite differences, float64
        pd = dict(params)
        for n in fd_names:
            p = pd[n]
            if not bool(p.grad.any()):
                continue
            g = p.grad.view(-1)
            i = int(g.abs().argmax())
            eps = 1e-6
            with torch.no_grad():
                vals = []
                x0 = p.view(-1)[i].item()
                for s in (1, -1):
                    p.view(-1)[i] = x0 + s * eps
                    lv, mv = design(d, st_base)
                    if d == "discrete":   # the argmax must not move under the perturbation
                        assert torch.equal(mv[1].argmax(-1), ids)
                    vals.append(lv.item())
                p.view(-1)[i] = x0
            fd = (vals[0] - vals[1]) / (2 * eps)
            rel = abs(fd - g[i].item()) / max(abs(g[i].item()), 1e-12)
            print(f"    fd {n}[{i}]: autograd {g[i].item():+.10e} fd {fd:+.10e} rel.err {rel:.2e}")
            assert rel < 1e-5, (d, n, rel)

    meta = {"note": f"{model_name}: MetaL-Prompt PGM (P-tuning MLP padding + LoRA) prompt designs hidden, weighted, "
                    f"discrete (straight-through Gumbel-softmax), prefix; target loss and PGM gradients, float64",
            "lora_targets": ",".join(lora_targets), "lora_scale": "2.0", "T_P": T_P, "M": M, "B": B, "T": T,
            "tau": TAU}
    odir = os.path.join(ROOT, "fixtures", "metal")
    os.makedirs(odir, exist_ok=True)
    path = os.path.join(odir, f"pgm-{model_name}.safetensors")
    write_safetensors(path, out, meta)
    print(f"{path}: {len(out)} tensors")
    for k in sorted(out):
        print(f"    {k} {out[k].dtype} {list(out[k].shape)}")


if __name__ == "__main__":
    make("gpt2-tiny", "gpt2")
    make("llama-tiny-gqa", "llama")
