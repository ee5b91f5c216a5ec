using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// Causal multi-head self-attention as GPT-2's attn: c_attn projects to q|k|v (by output rows of its
/// [3d, d] weight, i.e. by columns of HF's Conv1D [d, 3d]), the fused attention mixes, c_proj projects back.
/// </summary>
public sealed class MinGptAttention : Module
{
    readonly int _heads, _dim;

    public Linear CAttn { get; }   // weight [3d, d]
    public Linear CProj { get; }   // weight [d, d]

    public MinGptAttention(int dim, int heads, Rng rng)
    {
        _dim = dim;
        _heads = heads;
        CAttn = RegisterModule("c_attn", new Linear(dim, 3 * dim, rng));
        CProj = RegisterModule("c_proj", new Linear(dim, dim, rng));
    }

    // x: [B, T, d] -> [B, T - queryStart, d]: queries at positions queryStart…T-1, keys and values at all
    public Tensor Forward(Tensor x, int queryStart = 0)
    {
        var qkv = CAttn.Forward(x);                      // [B, T, 3d]
        var q = F.Slice(qkv, -1, 0, _dim);
        if (queryStart > 0) q = F.Slice(q, 1, queryStart, q.Shape[1] - queryStart);
        var k = F.Slice(qkv, -1, _dim, _dim);
        var v = F.Slice(qkv, -1, 2 * _dim, _dim);
        return CProj.Forward(F.Attention(q, k, v, _heads, _heads));
    }
}
