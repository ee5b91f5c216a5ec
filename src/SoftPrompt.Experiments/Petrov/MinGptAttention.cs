using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tensors.Ops;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// Causal multi-head self-attention as GPT-2's attn: c_attn projects to q|k|v (by output rows of its
/// [3d, d] weight, i.e. by columns of HF's Conv1D [d, 3d]), the fused attention mixes, c_proj projects back.
/// While training, the attention probabilities that weight the values are dropped with minGPT's attn_pdrop.
/// </summary>
public sealed class MinGptAttention : Module
{
    readonly int _heads;
    readonly float _dropout;
    readonly Rng? _dropoutRng;

    public Linear CAttn { get; }   // weight [3d, d]
    public Linear CProj { get; }   // weight [d, d]

    /// <param name="dropoutRng">Draws the attention-dropout masks' keys (the model's, checkpointed); null: no attention dropout.</param>
    public MinGptAttention(int dim, int heads, Rng rng, float dropout = 0f, Rng? dropoutRng = null)
    {
        _heads = heads;
        _dropout = dropout;
        _dropoutRng = dropoutRng;
        CAttn = RegisterModule("c_attn", new Linear(dim, 3 * dim, rng));
        CProj = RegisterModule("c_proj", new Linear(dim, dim, rng));
    }

    // x: [B, T, d] -> [B, T - queryStart, d]: queries at positions queryStart…T-1, keys and values at all
    public Tensor Forward(Tensor x, int queryStart = 0)
    {
        var qkv = F.Split(CAttn.Forward(x), -1, 3);     // [B, T, 3d] -> 3 × [B, T, d]
        var (q, k, v) = (qkv[0], qkv[1], qkv[2]);
        if (queryStart > 0) q = F.Slice(q, 1, queryStart, q.Shape[1] - queryStart);
        var drop = IsTraining && _dropout > 0f && _dropoutRng is not null ? new AttentionDropout(_dropout, _dropoutRng.NextUInt64()) : (AttentionDropout?)null;
        return CProj.Forward(F.Attention(q, k, v, _heads, _heads, dropout: drop));
    }
}
