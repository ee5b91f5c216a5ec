#!/usr/bin/python3
"""PyTorch reference for SoftPrompt's generation benchmark (bench generate).

GPT-2 in plain torch (no transformers), reading the same model.safetensors the C# side loads
(Hugging Face GPT2LMHeadModel layout: Conv1D weights [in, out], head tied to wte), and doing
what transformers' GPT2LMHeadModel + generate(do_sample=False) do:
  * forward over the new tokens with a per-layer key/value cache grown with torch.cat,
  * logits at every position of the forward (as GPT2LMHeadModel computes them),
  * greedy choice of the last position's argmax.
Measures, under torch.inference_mode with --threads intra-op threads:
  prefill  tokens/s of one uncached forward over the 128-token prompt(s), batch 1 and 8
  generate new tokens/s of the whole loop (prefill + 127 cached steps for 128 new tokens),
           batch 1 and 8
and writes them, the greedy tokens (to compare with the C# side) and the peak RSS as JSON.

  generate_gpt2.py --model DIR --input prompts.json --json out.json [--threads 2]

prompts.json: {"prompts": [[ids...], ...], "new_tokens": 128, "runs": 2}; batch 1 uses the first.
Always run with /usr/bin/python3 (Debian python3-torch); the safetensors package is not needed.
"""
import argparse
import json
import math
import resource
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

from blas_check import require_fast_blas


def load_safetensors(path):
    """name -> float32 tensor; a tiny reader (F32 only, which is what the benchmark writes)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {e['dtype']}; this reader handles F32")
        b, end = e["data_offsets"]
        arr = np.frombuffer(data, dtype=np.float32, count=(end - b) // 4, offset=base + b)
        out[name] = torch.from_numpy(arr.copy()).reshape(e["shape"])
    return out


class Gpt2:
    def __init__(self, w, cfg):
        p = "transformer." if "transformer.wte.weight" in w else ""
        self.w = {k[len(p):] if k.startswith(p) else k: v for k, v in w.items()}
        self.layers, self.heads = cfg["n_layer"], cfg["n_head"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.d = cfg["n_embd"]

    def conv1d(self, x, name):
        # HF Conv1D: addmm(bias, x, weight) with weight [in, out]
        w, b = self.w[name + ".weight"], self.w[name + ".bias"]
        return torch.addmm(b, x.reshape(-1, x.size(-1)), w).reshape(*x.shape[:-1], w.size(1))

    def forward(self, ids, past, start):
        """ids [B, T] continuing `start` cached tokens; past: per-layer (k, v) [B, H, Tk, hd], updated."""
        w, B, T = self.w, ids.size(0), ids.size(1)
        H, hd = self.heads, self.d // self.heads
        pos = torch.arange(start, start + T)
        x = w["wte.weight"][ids] + w["wpe.weight"][pos]
        for i in range(self.layers):
            h = f"h.{i}."
            a = F.layer_norm(x, (self.d,), w[h + "ln_1.weight"], w[h + "ln_1.bias"], self.eps)
            q, k, v = self.conv1d(a, h + "attn.c_attn").split(self.d, dim=2)
            q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in (q, k, v))
            if past[i] is not None:
                k = torch.cat((past[i][0], k), dim=-2)
                v = torch.cat((past[i][1], v), dim=-2)
            past[i] = (k, v)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            if T > 1:
                tk = k.size(-2)
                keep = torch.ones(T, tk, dtype=torch.bool).tril(diagonal=tk - T)
                att = att.masked_fill(~keep, float("-inf"))
            y = (torch.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, self.d)
            x = x + self.conv1d(y, h + "attn.c_proj")
            m = F.layer_norm(x, (self.d,), w[h + "ln_2.weight"], w[h + "ln_2.bias"], self.eps)
            x = x + self.conv1d(F.gelu(self.conv1d(m, h + "mlp.c_fc"), approximate="tanh"), h + "mlp.c_proj")
        x = F.layer_norm(x, (self.d,), w["ln_f.weight"], w["ln_f.bias"], self.eps)
        return x @ w["wte.weight"].t()   # tied head, every position

    def generate(self, ids, new_tokens):
        past = [None] * self.layers
        out = []
        inp, start = ids, 0
        for _ in range(new_tokens):
            logits = self.forward(inp, past, start)
            nxt = logits[:, -1].argmax(-1)
            out.append(nxt)
            start += inp.size(1)
            inp = nxt[:, None]
        return torch.stack(out, dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    require_fast_blas()
    with open(a.input) as f:
        spec = json.load(f)
    with open(f"{a.model}/config.json") as f:
        cfg = json.load(f)
    model = Gpt2(load_safetensors(f"{a.model}/model.safetensors"), cfg)
    prompts = torch.tensor(spec["prompts"], dtype=torch.long)
    new, runs = spec["new_tokens"], spec["runs"]
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "prefill": {}, "generate": {}, "tokens": {}}
    with torch.inference_mode():
        for batch in (1, prompts.size(0)):
            ids = prompts[:batch]
            model.forward(ids, [None] * model.layers, 0)          # warm-up
            times = []
            for _ in range(runs + 1):
                t0 = time.perf_counter()
                model.forward(ids, [None] * model.layers, 0)
                times.append(time.perf_counter() - t0)
            result["prefill"][str(batch)] = batch * ids.size(1) / statistics.median(times)
            model.generate(ids, 4)                                 # warm-up of the cached path
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                toks = model.generate(ids, new)
                times.append(time.perf_counter() - t0)
            result["generate"][str(batch)] = batch * new / min(times)
            result["tokens"][str(batch)] = toks.tolist()
            print(f"batch {batch}: prefill {result['prefill'][str(batch)]:.1f} tok/s, "
                  f"generate {result['generate'][str(batch)]:.2f} tok/s", flush=True)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(a.json, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
