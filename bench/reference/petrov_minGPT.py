#!/usr/bin/python3
"""PyTorch reference for `bench petrov`: the Petrov et al. training phases as the authors' code runs them.

A re-implementation (not a copy) of what the authors' minGPT fork does per training step, so that our
engine's seconds per step can be set next to theirs on the same machine:

  model     minGPT: token + learned position embeddings, embedding dropout 0.1; per block
            x + resid_drop(c_proj(attn_drop(softmax(mask(q k^T / sqrt(hd)))) v)) with ln_1 first
            (skipped in setup 2), then x + drop(c_proj(NewGELU(c_fc(ln_2 x)))); ln_f; untied lm_head.
            Attention is the explicit masked softmax of minGPT (no fused kernel), as in their code.
  data      each item drawn in Python as their Dataset.__getitem__ does (torch.randint digits, half the
            draws rejected when more than 5 distinct values, train/test by a hash of the pickled list),
            batched by a DataLoader with num_workers = 0 (their scripts' setting), batch 64.
  pretrain  zero_grad, loss (cross-entropy on the 10 output positions), backward, clip_grad_norm_ 1.0,
            AdamW(lr 5e-4, betas (0.9, 0.95), weight decay 0.1 on Linear weights only).
  finetune  the same loop on the pretrained model (their Trainer).
  prefix    model.eval() and frozen; a [n_layer, P, d] tensor replaces the first P positions of every
            block's input to ln_1/attention; AdamW on the prefix only, clip 1.0 (their PrefixTrainer).
  lora      rank-1 LoRA (W + B A, A [1, in], B [out, 1]) on attn.c_proj, mlp.c_fc and mlp.c_proj, model
            frozen and in eval mode, AdamW(lr 5e-3) on the LoRA factors.

Sequences: P zero pads (the setup's prefix padding, in every phase, as the authors' CustomDataset has them),
then 19 tokens (10 in, 9 of the output fed back) — the same work our side does.

  petrov_minGPT.py --input PHASES.json --steps N --warmup W --json OUT.json
PHASES.json: [{"name", "setup": 1|3|4, "kind": "pretrain"|"finetune"|"prefix"|"lora", "pad": P, "prefix": P, "rank": r}]
OUT.json: [{"name", "step_seconds"}] (median over N steps after W warm-up steps).
Run with Debian's /usr/bin/python3 through run_reference.sh.
"""
import argparse
import json
import math
import pickle
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from blas_check import require_fast_blas

LENGTH, DIGITS, VOCAB = 10, 8, 10
MODELS = {1: dict(n_layer=1, n_head=1, n_embd=96, ln1=True), 2: dict(n_layer=1, n_head=4, n_embd=256, ln1=False),
          3: dict(n_layer=4, n_head=4, n_embd=256, ln1=True), 4: dict(n_layer=4, n_head=4, n_embd=256, ln1=True)}


class Gelu(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class LoraLinear(nn.Module):
    """y = base(x) + (x A^T) B^T with a rank-r pair; base frozen."""

    def __init__(self, base, r):
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, r))

    def forward(self, x):
        return self.base(x) + (x @ self.a.t()) @ self.b.t()


class Attention(nn.Module):
    def __init__(self, d, heads, block):
        super().__init__()
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.attn_drop, self.resid_drop = nn.Dropout(0.1), nn.Dropout(0.1)
        self.heads, self.d = heads, d
        self.register_buffer("mask", torch.tril(torch.ones(block, block)).view(1, 1, block, block))

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = F.softmax(att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf")), dim=-1)
        y = (self.attn_drop(att) @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.resid_drop(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, d, heads, block, ln1):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d) if ln1 else nn.Identity()
        self.attn = Attention(d, heads, block)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc, self.c_proj, self.act, self.drop = nn.Linear(d, 4 * d), nn.Linear(4 * d, d), Gelu(), nn.Dropout(0.1)

    def forward(self, x, prefix):
        h = x if prefix is None else torch.cat([prefix[None].expand(x.size(0), -1, -1), x[:, prefix.size(0):]], dim=1)
        x = x + self.attn(self.ln_1(h))
        return x + self.drop(self.c_proj(self.act(self.c_fc(self.ln_2(x)))))


class Gpt(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, ln1, block=40):
        super().__init__()
        self.wte, self.wpe, self.drop = nn.Embedding(VOCAB, n_embd), nn.Embedding(block, n_embd), nn.Dropout(0.1)
        self.h = nn.ModuleList([Block(n_embd, n_head, block, ln1) for _ in range(n_layer)])
        self.ln_f, self.lm_head = nn.LayerNorm(n_embd), nn.Linear(n_embd, VOCAB, bias=False)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") else 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets, prefixes=None):
        t = idx.size(1)
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(t).unsqueeze(0)))
        for i, block in enumerate(self.h):
            x = block(x, None if prefixes is None else prefixes[i])
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

    def optimizer(self):
        decay = [p for m in self.modules() if isinstance(m, nn.Linear) for n, p in m.named_parameters(recurse=False) if n == "weight"]
        ids = {id(p) for p in decay}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=5e-4, betas=(0.9, 0.95))


class Items(torch.utils.data.Dataset):
    """One task (sort descending) drawn per item in Python, the authors' way; P placeholder zeros first."""

    def __init__(self, pad):
        self.pad = pad

    def __len__(self):
        return 10_000

    def __getitem__(self, idx):
        while True:
            inp = torch.randint(DIGITS, size=(LENGTH,), dtype=torch.long)
            if torch.rand(1).item() < 0.5 and inp.unique().nelement() > LENGTH // 2:
                continue
            if hash(pickle.dumps(inp.tolist())) % 4 != 0:
                break
        seq = torch.cat((torch.zeros(self.pad, dtype=torch.long), inp, torch.sort(inp, descending=True)[0]))
        x, y = seq[:-1].clone(), seq[1:].clone()
        y[: LENGTH + self.pad - 1] = -1
        return x, y


def run_phase(phase, steps, warmup):
    spec = MODELS[phase["setup"]]
    model = Gpt(**spec)
    kind, pad = phase["kind"], phase.get("pad", 0)
    loader = iter(torch.utils.data.DataLoader(Items(pad), sampler=torch.utils.data.RandomSampler(Items(pad), replacement=True, num_samples=10**9),
                                              batch_size=64, num_workers=0))
    prefixes = None
    if kind in ("pretrain", "finetune"):
        model.train()
        opt, params = model.optimizer(), list(model.parameters())
    elif kind == "prefix":
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        prefixes = torch.randn(spec["n_layer"], pad, spec["n_embd"], requires_grad=True)
        opt, params = torch.optim.AdamW([prefixes], lr=5e-5, betas=(0.9, 0.95)), [prefixes]
    elif kind == "lora":
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        for block in model.h:
            block.attn.c_proj = LoraLinear(block.attn.c_proj, phase["rank"])
            block.c_fc = LoraLinear(block.c_fc, phase["rank"])
            block.c_proj = LoraLinear(block.c_proj, phase["rank"])
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=5e-3, betas=(0.9, 0.95))
    else:
        raise SystemExit(f"unknown kind {kind}")
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        x, y = next(loader)
        loss = model(x, y, prefixes)
        model.zero_grad(set_to_none=True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    print(f"pytorch: {phase['name']}: median {median:.4f} s/step (threads {torch.get_num_threads()})", file=sys.stderr)
    return median


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    require_fast_blas()
    torch.manual_seed(1428)
    phases = json.load(open(a.input))
    out = [{"name": p["name"], "step_seconds": run_phase(p, a.steps, a.warmup)} for p in phases]
    json.dump(out, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
