using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Bench.Step;

/// <summary>Shape of the benchmark workload (defaults: GPT-2 small, batch 8×128, 20 virtual tokens).</summary>
public sealed record StepShape(int Layers = 12, int D = 768, int Heads = 12, int Vocab = 50257, int Positions = 1024,
    int Seq = 128, int Batch = 8, int Prompt = 20)
{
    public int Mlp => 4 * D;
    public int T => Prompt + Seq;

    /// <summary>Matmul FLOPs of one step: forward plus input-gradient backward (the formula of bench/reference/step_gpt2_prompt.py).</summary>
    public double MatmulFlops
    {
        get
        {
            double n = (double)Batch * T, d = D, m = Mlp;
            double linear = 2 * n * (4 * d * d + 2 * d * m);
            double attn = 4.0 * Batch * T * T * d;
            double head = 2.0 * Batch * Seq * d * Vocab;
            return Layers * (2 * linear + 3 * attn) + 2 * head;
        }
    }
}

/// <summary>
/// The benchmark's model: a GPT-2-small-shaped pre-LayerNorm stack with frozen random weights
/// (PyTorch Linear layout) and a trainable soft prompt prepended to every row, as in
/// bench/reference/step_gpt2_prompt.py. Built from the engine's ops only.
/// </summary>
public sealed class Gpt2PromptStack
{
    sealed record Block(Tensor Ln1W, Tensor Ln1B, Tensor Wq, Tensor Bq, Tensor Wk, Tensor Bk, Tensor Wv, Tensor Bv,
        Tensor WProj, Tensor BProj, Tensor Ln2W, Tensor Ln2B, Tensor WFc, Tensor BFc, Tensor WOut, Tensor BOut);

    readonly StepShape _s;
    readonly Tensor _wte, _wpe, _lnfW, _lnfB;
    readonly Block[] _blocks;
    readonly int[] _positions;

    public Tensor Prompt { get; }

    /// <summary>Frozen random weights N(0, 0.02) (LayerNorm gains 1 + N(0, 0.02)) and a random prompt.</summary>
    public Gpt2PromptStack(StepShape s, Rng rng) : this(s, (name, shape) =>
    {
        var t = Tensor.Zeros(shape);
        rng.FillNormal(t.Span, name.EndsWith("ln_1.weight") || name.EndsWith("ln_2.weight") || name == "ln_f.weight" ? 1f : 0f, 0.02f);
        return t;
    })
    {
    }

    /// <summary>
    /// Weights by the reference script's names (wte, wpe, h.{i}.ln_1.weight, h.{i}.attn.c_attn.weight [3D, D] with
    /// rows q|k|v, …, ln_f.bias) and "prompt"; <paramref name="weight"/>(name, shape) supplies each one.
    /// </summary>
    public Gpt2PromptStack(StepShape s, Func<string, int[], Tensor> weight)
    {
        _s = s;
        _wte = weight("wte", [s.Vocab, s.D]);
        _wpe = weight("wpe", [s.Positions, s.D]);
        _blocks = new Block[s.Layers];
        for (int i = 0; i < s.Layers; i++)
        {
            string h = $"h.{i}.";
            // c_attn holds q, k and v stacked by rows; the fused attention takes them as three projections.
            var cAttnW = weight(h + "attn.c_attn.weight", [3 * s.D, s.D]);
            var cAttnB = weight(h + "attn.c_attn.bias", [3 * s.D]);
            Tensor Rows(Tensor t, int part) => t.View(t.Rank == 2 ? [s.D, s.D] : [s.D], part * s.D * (t.Rank == 2 ? s.D : 1));
            _blocks[i] = new Block(weight(h + "ln_1.weight", [s.D]), weight(h + "ln_1.bias", [s.D]),
                Rows(cAttnW, 0), Rows(cAttnB, 0), Rows(cAttnW, 1), Rows(cAttnB, 1), Rows(cAttnW, 2), Rows(cAttnB, 2),
                weight(h + "attn.c_proj.weight", [s.D, s.D]), weight(h + "attn.c_proj.bias", [s.D]),
                weight(h + "ln_2.weight", [s.D]), weight(h + "ln_2.bias", [s.D]),
                weight(h + "mlp.c_fc.weight", [s.Mlp, s.D]), weight(h + "mlp.c_fc.bias", [s.Mlp]),
                weight(h + "mlp.c_proj.weight", [s.D, s.Mlp]), weight(h + "mlp.c_proj.bias", [s.D]));
        }
        _lnfW = weight("ln_f.weight", [s.D]);
        _lnfB = weight("ln_f.bias", [s.D]);
        Prompt = weight("prompt", [s.Prompt, s.D]);
        Prompt.RequiresGrad = true;
        Prompt.Name = "prompt";
        _positions = new int[s.Batch * s.T];
        for (int b = 0; b < s.Batch; b++)
            for (int t = 0; t < s.T; t++) _positions[b * s.T + t] = t;
    }

    /// <summary>Every frozen weight, for checksums.</summary>
    public IEnumerable<Tensor> FrozenWeights()
    {
        yield return _wte; yield return _wpe; yield return _lnfW; yield return _lnfB;
        foreach (var b in _blocks)
            foreach (var t in new[] { b.Ln1W, b.Ln1B, b.Wq, b.Bq, b.Wk, b.Bk, b.Wv, b.Bv, b.WProj, b.BProj, b.Ln2W, b.Ln2B, b.WFc, b.BFc, b.WOut, b.BOut })
                yield return t;
    }

    // ids: [B, S] real tokens, targets: B·S next-token ids (or -100) -> [] mean loss
    public Tensor Loss(int[] ids, int[] targets)
    {
        var s = _s;
        // x[B, T, D] = [prompt ; wte[ids]] + wpe[0..T)
        var prompt = F.Add(Tensor.Zeros(s.Batch, s.Prompt, s.D), Prompt);
        var x = F.Concat([prompt, F.Embedding(_wte, ids, s.Batch, s.Seq)], 1);
        x = F.Add(x, F.Embedding(_wpe, _positions, s.Batch, s.T));
        foreach (var b in _blocks)
        {
            var a = F.LayerNorm(x, b.Ln1W, b.Ln1B);
            var att = F.Attention(F.Linear(a, b.Wq, b.Bq), F.Linear(a, b.Wk, b.Bk), F.Linear(a, b.Wv, b.Bv), s.Heads, s.Heads);
            x = F.Add(x, F.Linear(att, b.WProj, b.BProj));
            var m = F.LayerNorm(x, b.Ln2W, b.Ln2B);
            x = F.Add(x, F.Linear(F.Gelu(F.Linear(m, b.WFc, b.BFc)), b.WOut, b.BOut));
        }
        // Only real positions carry a loss: slice before the final LayerNorm and the LM head.
        var h = F.Reshape(F.Slice(x, 1, s.Prompt, s.Seq), s.Batch * s.Seq, s.D);
        h = F.LayerNorm(h, _lnfW, _lnfB);
        var logits = F.Linear(h, _wte);                       // [B·S, V], tied head
        return F.CrossEntropy(logits, targets, reuseLogitsForGrad: true);
    }
}
