using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// A pre-LayerNorm block, minGPT's:
/// x ← x + drop(attn(ln_1(x)));  x ← x + drop(mlp(ln_2(x))).
/// Without the first LayerNorm (setup 2) attention reads x itself. Dropout acts on each branch's
/// output (minGPT's resid_pdrop) and on the attention probabilities (attn_pdrop), at the same rate.
/// </summary>
public sealed class MinGptBlock : Module
{
    readonly float _dropout;
    readonly Rng _dropoutRng;

    public LayerNorm? Ln1 { get; }
    public MinGptAttention Attn { get; }
    public LayerNorm Ln2 { get; }
    public MinGptMlp Mlp { get; }

    /// <param name="dropoutRng">Draws the dropout masks (shared with the model; its state is checkpointed).</param>
    public MinGptBlock(MinGptConfig c, Rng initRng, Rng dropoutRng)
    {
        _dropout = c.Dropout;
        _dropoutRng = dropoutRng;
        if (c.FirstLayerNorm) Ln1 = RegisterModule("ln_1", new LayerNorm(c.Dim));
        Attn = RegisterModule("attn", new MinGptAttention(c.Dim, c.Heads, initRng, c.Dropout, dropoutRng));
        Ln2 = RegisterModule("ln_2", new LayerNorm(c.Dim));
        Mlp = RegisterModule("mlp", new MinGptMlp(c.Dim, c.MlpDim, initRng));
    }

    // x: [B, T, d] -> [B, T - queryStart, d]: the outputs at positions queryStart…T-1 (all when 0)
    public Tensor Forward(Tensor x, int queryStart = 0)
    {
        var a = Attn.Forward(Ln1 is null ? x : Ln1.Forward(x), queryStart);
        if (queryStart > 0) x = F.Slice(x, 1, queryStart, x.Shape[1] - queryStart);
        x = F.Add(x, F.Dropout(a, _dropout, _dropoutRng, IsTraining));
        var m = Mlp.Forward(Ln2.Forward(x));
        return F.Add(x, F.Dropout(m, _dropout, _dropoutRng, IsTraining));
    }
}
