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

    public Gpt2PromptStack(StepShape s, Rng rng)
    {
        _s = s;
        Tensor Rnd(float mean, params int[] shape)
        {
            var t = Tensor.Zeros(shape);
            rng.FillNormal(t.Span, mean, 0.02f);
            return t; // frozen: RequiresGrad stays false
        }
        _wte = Rnd(0, s.Vocab, s.D);
        _wpe = Rnd(0, s.Positions, s.D);
        _blocks = new Block[s.Layers];
        for (int i = 0; i < s.Layers; i++)
            _blocks[i] = new Block(Rnd(1, s.D), Rnd(0, s.D), Rnd(0, s.D, s.D), Rnd(0, s.D), Rnd(0, s.D, s.D), Rnd(0, s.D),
                Rnd(0, s.D, s.D), Rnd(0, s.D), Rnd(0, s.D, s.D), Rnd(0, s.D), Rnd(1, s.D), Rnd(0, s.D),
                Rnd(0, s.Mlp, s.D), Rnd(0, s.Mlp), Rnd(0, s.D, s.Mlp), Rnd(0, s.D));
        _lnfW = Rnd(1, s.D);
        _lnfB = Rnd(0, s.D);
        Prompt = Rnd(0, s.Prompt, s.D);
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
