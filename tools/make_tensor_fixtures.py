#!/usr/bin/python3
"""Reference fixtures for SoftPrompt.Tensors ops, computed with PyTorch.

Run with the Debian interpreter that has torch:  /usr/bin/python3 tools/make_tensor_fixtures.py

Every case draws float32 inputs from a seeded generator, computes the op in float64 from
those float32 values, and stores (cast to float32): the inputs, the output `y`, a random
upstream gradient `gy`, and `grad_<input>` from `y.backward(gy)` for every trainable input.
Files are safetensors (written by hand, see `write_safetensors`) under
tests/fixtures/tensors/<family>.safetensors; each case's parameters are a JSON string in
`__metadata__` under the case name (always with "op", "inputs" and "trainable").

With --calibrate it also prints, per case, the error of the same computation done in float32
by PyTorch under the metric the C# tests use (a sanity check that the tolerances are reachable).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tensors")
CALIBRATE = "--calibrate" in sys.argv

torch.set_default_dtype(torch.float64)


# ---------------------------------------------------------------------------------------------
# safetensors writer (the subset the C# reader understands: F32, I32, I64, little-endian)

_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}


def write_safetensors(path, tensors, metadata):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = np.array(tensors[name], order="C", copy=True)  # (ascontiguousarray would make 0-d arrays 1-d)
        dtype = _DTYPES[arr.dtype]
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {k: str(v) for k, v in sorted(metadata.items())}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------
# the metric the C# tests use

def rel_err(a, b, floor_frac=1e-3):
    """max_i |a_i - b_i| / max(|b_i|, floor_frac * max_j |b_j|)."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    if b.size == 0:
        return 0.0
    if np.max(np.abs(b)) <= 1e-6:  # an analytically zero tensor: the C# tests check max|a| <= 1e-4 instead
        return float(np.max(np.abs(a))) if np.max(np.abs(a)) > 1e-4 else 0.0
    floor = floor_frac * np.max(np.abs(b))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


# ---------------------------------------------------------------------------------------------
# fixture files and cases

class Fixture:
    def __init__(self, family, seed):
        self.family = family
        self.rng = np.random.default_rng(seed)
        self.tensors = {}
        self.meta = {}

    # random inputs (float32)
    def randn(self, *shape, scale=1.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, lo, hi, *shape):
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    def away_from_zero(self, *shape, lo=0.5, hi=2.0):
        mag = self.rng.uniform(lo, hi, shape)
        sign = np.where(self.rng.random(shape) < 0.5, -1.0, 1.0)
        return (mag * sign).astype(np.float32)

    def ints(self, lo, hi, *shape):
        return self.rng.integers(lo, hi, shape).astype(np.int32)

    def case(self, name, fn, inputs, trainable=None, ints=None, extra_out=None, store_y=True, **params):
        """inputs: name -> float32 array; trainable: names that require grad (default all);
        ints: name -> int32 array (stored, passed to fn as int64 tensors);
        fn(**torch inputs, **params-free) -> y (or (y, dict of extra outputs to store))."""
        assert name not in self.meta, name
        trainable = list(inputs) if trainable is None else list(trainable)
        ints = ints or {}
        t_in = {}
        for k, v in inputs.items():
            t_in[k] = torch.tensor(v.astype(np.float64), requires_grad=k in trainable)
        for k, v in ints.items():
            t_in[k] = torch.tensor(v.astype(np.int64))
        out = fn(**t_in)
        extras = {}
        if isinstance(out, tuple):
            out, extras = out
        gy = self.randn(*out.shape)
        if trainable:
            out.backward(torch.tensor(gy.astype(np.float64)))
        for k, v in inputs.items():
            self.tensors[f"{name}/{k}"] = v
        for k, v in ints.items():
            self.tensors[f"{name}/{k}"] = v
        self.tensors[f"{name}/y"] = out.detach().numpy().astype(np.float32)
        self.tensors[f"{name}/gy"] = gy
        for k in trainable:
            g = t_in[k].grad
            if g is None:
                g = torch.zeros_like(t_in[k])
            self.tensors[f"{name}/grad_{k}"] = g.numpy().astype(np.float32)
        for k, v in extras.items():
            self.tensors[f"{name}/{k}"] = v.detach().numpy().astype(np.float32)
        meta = {"inputs": list(inputs), "trainable": trainable, "ints": list(ints)}
        meta.update(params)
        self.meta[name] = json.dumps(meta, sort_keys=True)
        if CALIBRATE:
            self._calibrate(name, fn, inputs, ints, trainable, gy)

    def _calibrate(self, name, fn, inputs, ints, trainable, gy):
        t_in = {k: torch.tensor(v, dtype=torch.float32, requires_grad=k in trainable) for k, v in inputs.items()}
        for k, v in ints.items():
            t_in[k] = torch.tensor(v.astype(np.int64))
        with_default = torch.get_default_dtype()
        torch.set_default_dtype(torch.float32)
        try:
            out = fn(**t_in)
            if isinstance(out, tuple):
                out = out[0]
            if trainable:
                out.backward(torch.tensor(gy))
        finally:
            torch.set_default_dtype(with_default)
        pairs = [(out.detach().numpy(), self.tensors[f"{name}/y"])]
        for k in trainable:
            g = t_in[k].grad
            if g is not None:
                pairs.append((g.numpy(), self.tensors[f"{name}/grad_{k}"]))
        e3 = max(rel_err(a, b, 1e-3) for a, b in pairs)
        e2 = max(rel_err(a, b, 1e-2) for a, b in pairs)
        print(f"  {self.family}/{name}: float32 torch max rel err {e3:.2e} (floor 1e-3) {e2:.2e} (floor 1e-2)")

    def write(self):
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, f"{self.family}.safetensors")
        write_safetensors(path, self.tensors, self.meta)
        return path, os.path.getsize(path)


# ---------------------------------------------------------------------------------------------
# binary ops, scale, add-scalar

def make_binary():
    fx = Fixture("binary", 101)
    ops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}
    patterns = [
        ("same", (2, 3, 4), (2, 3, 4)),
        ("bias", (2, 3, 5), (5,)),
        ("b1c_vs_1t1", (2, 1, 4), (1, 3, 1)),
        ("scalar_rhs", (3, 4), ()),
        ("scalar_lhs", (), (3, 4)),
        ("col_vs_row", (4, 1), (5,)),
        ("rank_diff_mid", (2, 3, 4), (3, 1)),
        ("lhs_broadcast", (1, 4), (3, 4)),
    ]
    for op, f in ops.items():
        for pname, sa, sb in patterns:
            a = fx.randn(*sa)
            b = fx.away_from_zero(*sb) if op == "div" else fx.randn(*sb)
            fx.case(f"{op}_{pname}", lambda a, b, f=f: f(a, b), {"a": a, "b": b}, op=op)
        # one operand frozen: its gradient must stay absent
        a = fx.randn(2, 3, 4)
        b = fx.away_from_zero(4) if op == "div" else fx.randn(4)
        fx.case(f"{op}_frozen_b", lambda a, b, f=f: f(a, b), {"a": a, "b": b}, trainable=["a"], op=op)
        fx.case(f"{op}_frozen_a", lambda a, b, f=f: f(a, b), {"a": fx.randn(3, 4), "b": (fx.away_from_zero(3, 4) if op == "div" else fx.randn(3, 4))},
                trainable=["b"], op=op)
    for s in (2.5, -0.75):
        fx.case(f"scale_{s}", lambda x, s=s: x * s, {"x": fx.randn(3, 5)}, op="scale", s=s)
        fx.case(f"add_scalar_{s}", lambda x, s=s: x + s, {"x": fx.randn(2, 3, 2)}, op="add_scalar", s=s)
    return fx


# ---------------------------------------------------------------------------------------------
# reductions

def make_reduce():
    fx = Fixture("reduce", 102)
    x_shape = (2, 3, 4)
    for op, f in (("sum", torch.sum), ("mean", torch.mean)):
        for dim in (0, 1, 2, -1):
            for keep in (False, True):
                fx.case(f"{op}_dim{dim}_keep{int(keep)}", lambda x, f=f, dim=dim, keep=keep: f(x, dim=dim, keepdim=keep),
                        {"x": fx.randn(*x_shape)}, op=op, dim=dim, keep_dim=keep)
        fx.case(f"{op}_all", lambda x, f=f: f(x), {"x": fx.randn(*x_shape)}, op=op + "_all")
        fx.case(f"{op}_all_1d", lambda x, f=f: f(x), {"x": fx.randn(7)}, op=op + "_all")
    return fx


# ---------------------------------------------------------------------------------------------
# shape ops

def make_shape():
    fx = Fixture("shape", 103)
    fx.case("reshape", lambda x: x.reshape(3, 8), {"x": fx.randn(2, 3, 4)}, op="reshape", shape=[3, 8])
    fx.case("reshape_infer", lambda x: x.reshape(4, -1), {"x": fx.randn(2, 3, 4)}, op="reshape", shape=[4, -1])
    for dim in (0, 1, 3, -1):
        fx.case(f"unsqueeze_{dim}", lambda x, dim=dim: x.unsqueeze(dim), {"x": fx.randn(2, 3, 4)}, op="unsqueeze", dim=dim)
    for dims in ([0, 2, 1, 3], [3, 1, 0, 2], [1, 0]):
        shp = (2, 3, 4, 5) if len(dims) == 4 else (3, 5)
        fx.case("permute_" + "".join(map(str, dims)), lambda x, dims=dims: x.permute(*dims), {"x": fx.randn(*shp)}, op="permute", dims=dims)
    for d0, d1 in ((0, 1), (1, 2), (-1, 0)):
        fx.case(f"transpose_{d0}_{d1}", lambda x, d0=d0, d1=d1: x.transpose(d0, d1), {"x": fx.randn(2, 3, 4)}, op="transpose", dim0=d0, dim1=d1)
    for dim, start, length in ((0, 1, 1), (1, 1, 2), (2, 0, 3), (-1, 2, 2)):
        fx.case(f"slice_{dim}_{start}_{length}", lambda x, dim=dim, start=start, length=length: x.narrow(dim, start, length),
                {"x": fx.randn(2, 3, 4)}, op="slice", dim=dim, start=start, length=length)
    for dim in (0, 1, -1):
        shapes = {0: [(1, 3, 4), (2, 3, 4), (3, 3, 4)], 1: [(2, 1, 4), (2, 3, 4), (2, 2, 4)], -1: [(2, 3, 2), (2, 3, 1), (2, 3, 3)]}[dim]
        ins = {f"x{i}": fx.randn(*s) for i, s in enumerate(shapes)}
        fx.case(f"concat_{dim}", lambda x0, x1, x2, dim=dim: torch.cat([x0, x1, x2], dim), ins, op="concat", dim=dim)
    ins = {f"x{i}": fx.randn(2, 3) for i in range(3)}
    fx.case("concat_one_frozen", lambda x0, x1, x2: torch.cat([x0, x1, x2], 1), ins, trainable=["x0", "x2"], op="concat", dim=1)
    for dim in (0, 1, 2, -1):
        ins = {f"x{i}": fx.randn(2, 3) for i in range(3)}
        fx.case(f"stack_{dim}", lambda x0, x1, x2, dim=dim: torch.stack([x0, x1, x2], dim), ins, op="stack", dim=dim)
    # split into 3 equal parts; the output uses parts 2 and 0 (part 1 gets no gradient), as q | k | v where v is unused
    for dim, shp in ((0, (6, 2, 2)), (1, (2, 3, 2)), (-1, (2, 3, 6))):
        fx.case(f"split_{dim}", lambda x, dim=dim: (lambda p: torch.cat([p[2], p[0]], dim))(torch.chunk(x, 3, dim)),
                {"x": fx.randn(*shp)}, op="split", dim=dim, parts=3)
    return fx


# ---------------------------------------------------------------------------------------------
# matmul and linear

def make_matmul():
    fx = Fixture("matmul", 104)
    M, K, N = 3, 5, 4

    def op_(t, trans):
        return t.transpose(-1, -2) if trans else t

    for batch_name, batch in (("2d", ()), ("batched", (2, 3)), ("shared_b", (2, 3))):
        for ta in (False, True):
            for tb in (False, True):
                a = fx.randn(*batch, *((K, M) if ta else (M, K)))
                b_batch = () if batch_name == "shared_b" else batch
                b = fx.randn(*b_batch, *((N, K) if tb else (K, N)))
                fx.case(f"{batch_name}_{'T' if ta else 'N'}{'T' if tb else 'N'}",
                        lambda a, b, ta=ta, tb=tb: op_(a, ta) @ op_(b, tb), {"a": a, "b": b},
                        op="matmul", trans_a=ta, trans_b=tb)
    fx.case("shared_b_frozen_b", lambda a, b: a @ b, {"a": fx.randn(2, M, K), "b": fx.randn(K, N)}, trainable=["a"], op="matmul", trans_a=False, trans_b=False)
    fx.case("batched_frozen_a", lambda a, b: a @ b.transpose(-1, -2), {"a": fx.randn(2, M, K), "b": fx.randn(2, N, K)}, trainable=["b"],
            op="matmul", trans_a=False, trans_b=True)
    fx.case("2d_bigger", lambda a, b: a @ b, {"a": fx.randn(17, 33), "b": fx.randn(33, 9)}, op="matmul", trans_a=False, trans_b=False)
    return fx


def make_linear():
    fx = Fixture("linear", 105)
    C, OC = 6, 5
    fx.case("bias", lambda x, w, bias: F.linear(x, w, bias), {"x": fx.randn(2, 3, C), "w": fx.randn(OC, C), "bias": fx.randn(OC)},
            op="linear", weight_in_out=False)
    fx.case("no_bias", lambda x, w: F.linear(x, w), {"x": fx.randn(2, 3, C), "w": fx.randn(OC, C)}, op="linear", weight_in_out=False)
    fx.case("in_out_bias", lambda x, w, bias: x @ w + bias, {"x": fx.randn(2, 3, C), "w": fx.randn(C, OC), "bias": fx.randn(OC)},
            op="linear", weight_in_out=True)
    fx.case("in_out_no_bias", lambda x, w: x @ w, {"x": fx.randn(4, C), "w": fx.randn(C, OC)}, op="linear", weight_in_out=True)
    fx.case("frozen_weight", lambda x, w, bias: F.linear(x, w, bias), {"x": fx.randn(2, 3, C), "w": fx.randn(OC, C), "bias": fx.randn(OC)},
            trainable=["x"], op="linear", weight_in_out=False)
    fx.case("frozen_input", lambda x, w, bias: F.linear(x, w, bias), {"x": fx.randn(2, 3, C), "w": fx.randn(OC, C), "bias": fx.randn(OC)},
            trainable=["w", "bias"], op="linear", weight_in_out=False)
    fx.case("frozen_bias_in_out", lambda x, w, bias: x @ w + bias, {"x": fx.randn(5, C), "w": fx.randn(C, OC), "bias": fx.randn(OC)},
            trainable=["x", "w"], op="linear", weight_in_out=True)
    fx.case("rank4", lambda x, w, bias: F.linear(x, w, bias), {"x": fx.randn(2, 2, 3, C), "w": fx.randn(OC, C), "bias": fx.randn(OC)},
            op="linear", weight_in_out=False)
    return fx


# ---------------------------------------------------------------------------------------------
# softmax, cross-entropy

def make_softmax():
    fx = Fixture("softmax", 106)
    for op, f in (("softmax", lambda x: torch.softmax(x, -1)), ("log_softmax", lambda x: torch.log_softmax(x, -1))):
        fx.case(f"{op}_2d", f, {"x": fx.randn(4, 7)}, op=op)
        fx.case(f"{op}_3d", f, {"x": fx.randn(2, 3, 5)}, op=op)
        fx.case(f"{op}_large_logits", f, {"x": fx.randn(3, 6, scale=30.0) + 50.0}, op=op)
        fx.case(f"{op}_wide", f, {"x": fx.randn(2, 300, scale=3.0)}, op=op)
    return fx


def make_cross_entropy():
    fx = Fixture("cross_entropy", 107)

    def ce(ignore):
        return lambda logits, targets: F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ignore)

    fx.case("plain", ce(-100), {"logits": fx.randn(6, 9)}, ints={"targets": fx.ints(0, 9, 6)}, op="cross_entropy", ignore_index=-100)
    t = fx.ints(0, 9, 8)
    t[[1, 4, 5]] = -100
    fx.case("ignore_index", ce(-100), {"logits": fx.randn(8, 9)}, ints={"targets": t}, op="cross_entropy", ignore_index=-100)
    t = fx.ints(0, 7, 2, 4)
    t[0, 0] = -1
    t[1, 3] = -1
    fx.case("custom_ignore_3d", ce(-1), {"logits": fx.randn(2, 4, 7)}, ints={"targets": t}, op="cross_entropy", ignore_index=-1)
    fx.case("large_logits", ce(-100), {"logits": fx.randn(4, 300, scale=10.0)}, ints={"targets": fx.ints(0, 300, 4)},
            op="cross_entropy", ignore_index=-100)
    return fx


# ---------------------------------------------------------------------------------------------
# norms

def rms_norm(x, w, eps):
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * w if w is not None else y


def make_norms():
    fx = Fixture("norms", 108)
    C = 8
    fx.case("layer_norm_wb", lambda x, w, b: F.layer_norm(x, (C,), w, b, 1e-5),
            {"x": fx.randn(2, 3, C) * 2 + 0.5, "w": fx.randn(C), "b": fx.randn(C)}, op="layer_norm", eps=1e-5)
    fx.case("layer_norm_w_only", lambda x, w: F.layer_norm(x, (C,), w, None, 1e-5),
            {"x": fx.randn(4, C), "w": fx.randn(C)}, op="layer_norm", eps=1e-5)
    fx.case("layer_norm_plain", lambda x: F.layer_norm(x, (C,), None, None, 1e-5), {"x": fx.randn(3, C)}, op="layer_norm", eps=1e-5)
    fx.case("layer_norm_frozen_params", lambda x, w, b: F.layer_norm(x, (C,), w, b, 1e-3),
            {"x": fx.randn(3, C), "w": fx.randn(C), "b": fx.randn(C)}, trainable=["x"], op="layer_norm", eps=1e-3)
    fx.case("layer_norm_params_only", lambda x, w, b: F.layer_norm(x, (C,), w, b, 1e-5),
            {"x": fx.randn(3, C), "w": fx.randn(C), "b": fx.randn(C)}, trainable=["w", "b"], op="layer_norm", eps=1e-5)
    fx.case("layer_norm_many_rows", lambda x, w, b: F.layer_norm(x, (C,), w, b, 1e-5),
            {"x": fx.randn(64, C), "w": fx.randn(C), "b": fx.randn(C)}, op="layer_norm", eps=1e-5)
    fx.case("rms_norm_w", lambda x, w: rms_norm(x, w, 1e-6), {"x": fx.randn(2, 3, C), "w": fx.randn(C)}, op="rms_norm", eps=1e-6)
    fx.case("rms_norm_plain", lambda x: rms_norm(x, None, 1e-5), {"x": fx.randn(4, C)}, op="rms_norm", eps=1e-5)
    fx.case("rms_norm_frozen_w", lambda x, w: rms_norm(x, w, 1e-6), {"x": fx.randn(3, C), "w": fx.randn(C)}, trainable=["x"], op="rms_norm", eps=1e-6)
    fx.case("rms_norm_many_rows", lambda x, w: rms_norm(x, w, 1e-6), {"x": fx.randn(64, C), "w": fx.randn(C)}, op="rms_norm", eps=1e-6)
    # Widths the vector kernels split into several vectors and a scalar tail (37), and a model's (256).
    for c in (37, 256):
        fx.case(f"layer_norm_wb_{c}", lambda x, w, b, c=c: F.layer_norm(x, (c,), w, b, 1e-5),
                {"x": fx.randn(5, c) * 3 - 1, "w": fx.randn(c), "b": fx.randn(c)}, op="layer_norm", eps=1e-5)
        fx.case(f"rms_norm_w_{c}", lambda x, w, c=c: rms_norm(x, w, 1e-6), {"x": fx.randn(5, c), "w": fx.randn(c)}, op="rms_norm", eps=1e-6)
    return fx


# ---------------------------------------------------------------------------------------------
# activations

def make_activations():
    fx = Fixture("activations", 109)
    acts = {
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "gelu_erf": lambda x: F.gelu(x),
        "silu": lambda x: F.silu(x),
        "relu": lambda x: F.relu(x),
        "tanh": lambda x: torch.tanh(x),
        "sigmoid": lambda x: torch.sigmoid(x),
    }
    for op, f in acts.items():
        x = fx.randn(3, 17, scale=2.0)
        if op == "relu":
            x[0, :3] = 0.0  # PyTorch: relu'(0) = 0
        x[1, :4] = [-8.0, 8.0, -0.01, 0.01]
        fx.case(op, f, {"x": x}, op=op)
        if op in ("gelu_tanh", "sigmoid"):
            # more than one block of 4096 elements (the parallel split)
            fx.case(op + "_long", f, {"x": fx.randn(4100, scale=3.0)}, op=op)
    return fx


# ---------------------------------------------------------------------------------------------
# embedding, gather

def make_embedding():
    fx = Fixture("embedding", 110)
    ids = np.array([[1, 4, 1], [0, 4, 6]], np.int32)
    fx.case("embedding_repeats", lambda table, ids: F.embedding(ids, table), {"table": fx.randn(7, 5)}, ints={"ids": ids}, op="embedding")
    ids = fx.ints(0, 10, 9)
    fx.case("embedding_1d", lambda table, ids: F.embedding(ids, table), {"table": fx.randn(10, 3)}, ints={"ids": ids}, op="embedding")
    x_shape = (3, 4, 5)
    for dim, ishape in ((0, (2, 4, 5)), (1, (3, 6, 2)), (2, (2, 3, 7)), (-1, (3, 4, 2))):
        size = x_shape[dim]
        index = fx.ints(0, size, *ishape)
        fx.case(f"gather_{dim}", lambda x, index, dim=dim: torch.gather(x, dim, index), {"x": fx.randn(*x_shape)},
                ints={"index": index}, op="gather", dim=dim)
    # row ops of the prompt plan: index_select / index_add over dim 0, splicing rows into [B, T, D]
    fx.case("index_select", lambda x, rows: torch.index_select(x, 0, rows), {"x": fx.randn(5, 3, 2)},
            ints={"rows": np.array([3, 0, 3, 4], np.int32)}, op="index_select")
    fx.case("index_add", lambda t, d, rows: t.index_add(0, rows, d), {"t": fx.randn(5, 3), "d": fx.randn(2, 3)},
            ints={"rows": np.array([4, 1], np.int32)}, op="index_add")

    def splice(x, v0, v1):
        y = x.clone()
        y[0, 0:2] = v0
        y[1, 3:4] = v1
        return y
    fx.case("splice", splice, {"x": fx.randn(2, 5, 4), "v0": fx.randn(2, 4), "v1": fx.randn(1, 4)}, op="splice")
    return fx


# ---------------------------------------------------------------------------------------------
# attention

def attention_ref(q, k, v, H, Hkv, pk=None, pv=None, mask=None, causal=True, scale=None):
    """Fused causal SDPA as SoftPrompt defines it. Fully masked query rows output zeros."""
    B, Tq, _ = q.shape
    Tk = k.shape[1]
    hd = q.shape[2] // H
    P = 0 if pk is None else pk.shape[1]
    L = P + Tk
    if P:
        K, V = torch.cat([pk, k], 1), torch.cat([pv, v], 1)
    else:
        K, V = k, v
    g = H // Hkv
    qh = q.reshape(B, Tq, H, hd).transpose(1, 2)
    kh = K.reshape(B, L, Hkv, hd).transpose(1, 2).repeat_interleave(g, dim=1)
    vh = V.reshape(B, L, Hkv, hd).transpose(1, 2).repeat_interleave(g, dim=1)
    s = (qh @ kh.transpose(-1, -2)) * (scale if scale is not None else 1.0 / math.sqrt(hd))
    allowed = torch.ones(B, 1, Tq, L, dtype=torch.bool)
    if causal:
        past = Tk - Tq
        j = torch.arange(L)
        i = torch.arange(Tq)
        allowed = allowed & (((j[None, :] - P) <= (i[:, None] + past)) | (j[None, :] < P))[None, None]
    if mask is not None:
        m = mask.reshape(B, -1).bool()
        if m.shape[1] == Tk:
            m = torch.cat([torch.ones(B, P, dtype=torch.bool), m], 1)
        allowed = allowed & m[:, None, None, :]
    probs = torch.softmax(s.masked_fill(~allowed, -1e30), -1) * allowed.any(-1, keepdim=True)
    o = (probs @ vh).transpose(1, 2).reshape(B, Tq, H * hd)
    return o, probs


def make_attention():
    fx = Fixture("attention", 111)

    def add(name, B, Tq, Tk, H, Hkv, hd, P=0, mask=None, causal=True, scale=None, store_probs=True, trainable=None, qscale=1.0):
        ins = {"q": fx.randn(B, Tq, H * hd, scale=qscale), "k": fx.randn(B, Tk, Hkv * hd), "v": fx.randn(B, Tk, Hkv * hd)}
        if P:
            ins["pk"] = fx.randn(B, P, Hkv * hd)
            ins["pv"] = fx.randn(B, P, Hkv * hd)
        ints = {} if mask is None else {"mask": np.asarray(mask, np.int32)}

        def fn(q, k, v, pk=None, pv=None, mask=None):
            o, p = attention_ref(q, k, v, H, Hkv, pk, pv, mask, causal, scale)
            return (o, {"probs": p}) if store_probs else o

        params = dict(op="attention", heads=H, kv_heads=Hkv, causal=causal)
        if scale is not None:
            params["scale"] = scale
        fx.case(name, fn, ins, ints=ints, trainable=trainable, **params)

    add("causal", 2, 5, 5, 2, 2, 4)
    add("single_head", 1, 4, 4, 1, 1, 8)
    add("non_causal", 2, 4, 4, 2, 2, 4, causal=False)
    add("custom_scale", 1, 4, 4, 2, 2, 4, scale=0.7)
    add("pad_right", 2, 5, 5, 2, 2, 4, mask=[[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    add("pad_left", 2, 5, 5, 2, 2, 4, mask=[[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])  # rows 0,1 of batch 1 see nothing: zeros
    add("non_causal_pad", 2, 4, 4, 2, 2, 4, causal=False, mask=[[1, 1, 0, 1], [0, 1, 1, 1]])
    add("prefix", 2, 4, 4, 2, 2, 4, P=3)
    add("prefix_pad", 2, 4, 4, 2, 2, 4, P=3, mask=[[1, 1, 1, 1], [0, 1, 1, 1]])
    add("prefix_mask_covers_prefix", 2, 4, 4, 2, 2, 4, P=3, mask=[[1, 0, 1, 1, 1, 1, 1], [1, 1, 1, 0, 1, 1, 0]])
    add("prefix_frozen_prefix", 2, 3, 3, 2, 2, 4, P=2, trainable=["q", "k", "v"])
    add("prefix_only_trainable", 1, 3, 3, 2, 1, 4, P=2, trainable=["pk", "pv"])
    add("gqa_h4_kv2", 2, 5, 5, 4, 2, 4)
    add("gqa_h4_kv1", 2, 5, 5, 4, 1, 4)
    add("gqa_kv2_prefix_pad", 2, 4, 4, 4, 2, 2, P=2, mask=[[1, 1, 1, 1, 1, 1], [0, 1, 0, 1, 1, 1]])
    add("cached_past", 2, 2, 6, 2, 2, 4)
    add("cached_past_pad_prefix", 2, 3, 5, 4, 2, 4, P=2, mask=[[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
    add("cached_past_non_causal", 1, 2, 5, 2, 1, 4, causal=False)
    add("frozen_kv", 1, 4, 4, 2, 2, 4, trainable=["q"])
    add("sharp_scores", 1, 5, 5, 2, 2, 8, qscale=6.0)
    add("long_rows", 1, 300, 300, 2, 1, 4, store_probs=False)
    # one query (a decoding step over a cache): GQA, a prefix, a mask over prefix and text; a text-only mask with an odd head width; no mask
    add("decode_step", 3, 1, 7, 4, 2, 8, P=3, mask=[[1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0, 0, 1, 1, 1]])
    add("decode_step_text_mask", 2, 1, 6, 2, 1, 5, P=2, mask=[[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    add("decode_step_plain", 2, 1, 9, 2, 2, 4)
    add("decode_step_wide", 2, 1, 9, 2, 1, 20, P=2, mask=[[1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1]])   # 16-wide vectors and a tail
    return fx


# ---------------------------------------------------------------------------------------------
# coming ops: RoPE, LSTM, Gumbel-softmax

def rope_ref(x, inv_freq, positions, H):
    B, T, D = x.shape
    hd = D // H
    # Hugging Face forms the angle pos·invFreq in float32 (then cos/sin); do the same, the rest in float64.
    ang = (positions.reshape(B, T, 1).to(torch.float32) * inv_freq.detach().reshape(1, 1, -1).to(torch.float32)).to(x.dtype)  # B,T,hd/2
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos()[:, :, None, :], emb.sin()[:, :, None, :]
    xh = x.reshape(B, T, H, hd)
    x1, x2 = xh[..., : hd // 2], xh[..., hd // 2:]
    rot = torch.cat([-x2, x1], -1)
    return (xh * cos + rot * sin).reshape(B, T, D)


def make_rope():
    fx = Fixture("rope", 112)

    def inv_freq(hd, base=10000.0):
        return (1.0 / base ** (np.arange(0, hd, 2, dtype=np.float64) / hd)).astype(np.float32)

    pos = np.array([[1, 3, 5, 7, 9], [2, 3, 11, 13, 40]], np.int32)
    fx.case("odd_positions", lambda x, inv_freq, positions: rope_ref(x, inv_freq, positions, 2),
            {"x": fx.randn(2, 5, 2 * 8), "inv_freq": inv_freq(8)}, ints={"positions": pos}, trainable=["x"], op="rope", heads=2)
    pos = (np.arange(4, dtype=np.int32) + 17)[None].repeat(1, 0)
    fx.case("cached_offset_h3", lambda x, inv_freq, positions: rope_ref(x, inv_freq, positions, 3),
            {"x": fx.randn(1, 4, 3 * 4), "inv_freq": inv_freq(4, 500.0)}, ints={"positions": pos}, trainable=["x"], op="rope", heads=3)
    pos = np.array([[0, 1, 2, 1000, 4095, 3]], np.int32)
    fx.case("large_positions", lambda x, inv_freq, positions: rope_ref(x, inv_freq, positions, 1),
            {"x": fx.randn(1, 6, 6), "inv_freq": inv_freq(6)}, ints={"positions": pos}, trainable=["x"], op="rope", heads=1)
    pos = np.array([[4095, 2047, 1293, 777], [1, 0, 65535, 33333]], np.int32)
    fx.case("large_positions_hd8", lambda x, inv_freq, positions: rope_ref(x, inv_freq, positions, 2),
            {"x": fx.randn(2, 4, 2 * 8), "inv_freq": inv_freq(8)}, ints={"positions": pos}, trainable=["x"], op="rope", heads=2)
    return fx


def lstm_layer_ref(x, w_ih, w_hh, b_ih, b_hh, reverse):
    """One direction of torch.nn.LSTM (batch_first) with zero initial state."""
    H = w_hh.shape[1]
    # torch.nn.LSTM's functional core, with our (grad-tracking) tensors as its weights.
    weights = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
    inp = x.flip(1) if reverse else x
    out = torch._VF.lstm(inp, (torch.zeros(1, x.shape[0], H), torch.zeros(1, x.shape[0], H)), weights,
                         b_ih is not None, 1, 0.0, False, False, True)[0]
    return out.flip(1) if reverse else out


def make_lstm():
    fx = Fixture("lstm", 113)
    B, T, I, H = 2, 4, 3, 5

    def w(*s):
        return fx.uniform(-0.6, 0.6, *s)

    for reverse in (False, True):
        name = "reverse" if reverse else "forward"
        fx.case(name, lambda x, w_ih, w_hh, b_ih, b_hh, reverse=reverse: lstm_layer_ref(x, w_ih, w_hh, b_ih, b_hh, reverse),
                {"x": fx.randn(B, T, I), "w_ih": w(4 * H, I), "w_hh": w(4 * H, H), "b_ih": w(4 * H), "b_hh": w(4 * H)},
                op="lstm_layer", reverse=reverse)
    fx.case("forward_no_bias", lambda x, w_ih, w_hh: lstm_layer_ref(x, w_ih, w_hh, None, None, False),
            {"x": fx.randn(B, T, I), "w_ih": w(4 * H, I), "w_hh": w(4 * H, H)}, op="lstm_layer", reverse=False)
    fx.case("frozen_weights", lambda x, w_ih, w_hh, b_ih, b_hh: lstm_layer_ref(x, w_ih, w_hh, b_ih, b_hh, True),
            {"x": fx.randn(B, T, I), "w_ih": w(4 * H, I), "w_hh": w(4 * H, H), "b_ih": w(4 * H), "b_hh": w(4 * H)},
            trainable=["x"], op="lstm_layer", reverse=True)

    # Bidirectional, 2 layers: torch.nn.LSTM itself is the reference, the C# side composes LstmLayer + Concat.
    Hb = 3
    names = []
    ins = {"x": fx.randn(B, 5, I)}
    for layer in range(2):
        in_size = I if layer == 0 else 2 * Hb
        for sfx in ("", "_reverse"):
            for kind, shape in (("weight_ih", (4 * Hb, in_size)), ("weight_hh", (4 * Hb, Hb)), ("bias_ih", (4 * Hb,)), ("bias_hh", (4 * Hb,))):
                n = f"{kind}_l{layer}{sfx}"
                names.append(n)
                ins[n] = w(*shape)

    def bidir(x, **params):
        lstm = torch.nn.LSTM(I, Hb, num_layers=2, batch_first=True, bidirectional=True)
        weights = [params[n] for n in names]
        h0 = torch.zeros(4, x.shape[0], Hb)
        out = torch._VF.lstm(x, (h0, h0), weights, True, 2, 0.0, False, True, True)[0]
        # cross-check the functional call against the module with the same weights
        with torch.no_grad():
            for n in names:
                getattr(lstm, n).copy_(params[n])
            ref, _ = lstm(x.detach())
        assert torch.allclose(ref, out.detach(), atol=1e-12), "torch._VF.lstm disagrees with nn.LSTM"
        return out

    fx.case("bidirectional_2layer", bidir, ins, op="lstm_bidir", layers=2, hidden=Hb, weight_names=names)
    return fx


def gumbel_ref(logits, noise, tau, hard):
    y_soft = torch.softmax((logits + noise) / tau, -1)
    if not hard:
        return y_soft
    index = y_soft.argmax(-1, keepdim=True)
    y_hard = torch.zeros_like(y_soft).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def make_gumbel():
    fx = Fixture("gumbel_softmax", 114)
    # Sanity: torch's own gumbel_softmax with the same noise stream equals gumbel_ref.
    logits = torch.randn(3, 6, generator=torch.Generator().manual_seed(5))
    for hard in (False, True):
        torch.manual_seed(1234)
        noise = -torch.empty_like(logits).exponential_().log()
        torch.manual_seed(1234)
        ref = F.gumbel_softmax(logits, tau=0.7, hard=hard)
        assert torch.allclose(ref, gumbel_ref(logits, noise, 0.7, hard), atol=1e-12), "gumbel_ref disagrees with F.gumbel_softmax"

    def noise(*shape):
        u = fx.rng.uniform(1e-6, 1.0, shape)
        return (-np.log(-np.log(u))).astype(np.float32)

    for name, shape, tau, hard in (("soft_tau1", (3, 6), 1.0, False), ("soft_tau05_3d", (2, 3, 5), 0.5, False),
                                   ("hard_tau1", (4, 6), 1.0, True), ("hard_tau2_3d", (2, 2, 7), 2.0, True),
                                   ("soft_tau03", (2, 9), 0.3, False)):
        fx.case(name, lambda logits, noise, tau=tau, hard=hard: gumbel_ref(logits, noise, tau, hard),
                {"logits": fx.randn(*shape), "noise": noise(*shape)}, trainable=["logits"], op="gumbel_softmax", tau=tau, hard=hard)
    return fx


# ---------------------------------------------------------------------------------------------
# end to end: a GPT-style block

def make_block():
    fx = Fixture("block", 115)
    B, T, C, H = 2, 5, 16, 4

    def block(x, ln1_w, ln1_b, wq, bq, wk, bk, wv, bv, wo, bo, ln2_w, ln2_b, w_fc, b_fc, w_proj, b_proj):
        h = F.layer_norm(x, (C,), ln1_w, ln1_b, 1e-5)
        q, k, v = F.linear(h, wq, bq), F.linear(h, wk, bk), F.linear(h, wv, bv)
        a, _ = attention_ref(q, k, v, H, H)
        x = x + F.linear(a, wo, bo)
        h = F.layer_norm(x, (C,), ln2_w, ln2_b, 1e-5)
        return x + F.linear(F.gelu(F.linear(h, w_fc, b_fc), approximate="tanh"), w_proj, b_proj)

    s = 1.0 / math.sqrt(C)
    ins = {"x": fx.randn(B, T, C),
           "ln1_w": 1 + 0.1 * fx.randn(C), "ln1_b": 0.1 * fx.randn(C),
           "wq": fx.randn(C, C, scale=s), "bq": fx.randn(C, scale=0.1),
           "wk": fx.randn(C, C, scale=s), "bk": fx.randn(C, scale=0.1),
           "wv": fx.randn(C, C, scale=s), "bv": fx.randn(C, scale=0.1),
           "wo": fx.randn(C, C, scale=s), "bo": fx.randn(C, scale=0.1),
           "ln2_w": 1 + 0.1 * fx.randn(C), "ln2_b": 0.1 * fx.randn(C),
           "w_fc": fx.randn(4 * C, C, scale=s), "b_fc": fx.randn(4 * C, scale=0.1),
           "w_proj": fx.randn(C, 4 * C, scale=0.5 * s), "b_proj": fx.randn(C, scale=0.1)}
    fx.case("gpt_block", block, ins, op="block", heads=H, eps=1e-5)
    return fx


def main():
    makers = [make_binary, make_reduce, make_shape, make_matmul, make_linear, make_softmax, make_cross_entropy, make_norms,
              make_activations, make_embedding, make_attention, make_rope, make_lstm, make_gumbel, make_block]
    total = 0
    for make in makers:
        fx = make()
        path, size = fx.write()
        total += size
        print(f"{os.path.relpath(path, ROOT)}: {len(fx.meta)} cases, {size / 1024:.1f} KiB")
    print(f"total {total / 1024:.1f} KiB")
    assert total < 2 * 1024 * 1024, "fixtures must stay under 2 MB"


if __name__ == "__main__":
    main()
