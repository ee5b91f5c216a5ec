using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Finite-difference checks (<see cref="GradCheck"/>) of every differentiable op on small random inputs.</summary>
public class GradCheckTests
{
    sealed record Case(Func<Rng, Tensor[]> Inputs, Func<Tensor[], Tensor> F);

    static Tensor R(Rng rng, params int[] shape) => T(rng, 1f, shape);

    static Tensor T(Rng rng, float std, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillNormal(t.Span, 0f, std);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Random values with |x| in [lo, hi], random sign (keeps divisors and kinks away from zero).</summary>
    static Tensor Away(Rng rng, float lo, float hi, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (rng.NextFloat() < 0.5f ? -1f : 1f) * (lo + (hi - lo) * rng.NextFloat());
        t.RequiresGrad = true;
        return t;
    }

    static Tensor Frozen(Tensor t) { t.RequiresGrad = false; return t; }

    static readonly int[] Ids = [1, 4, 1, 0, 4, 2];
    static readonly int[] GatherIndex = [2, 0, 0, 1, 3, 3, 1, 2, 0, 0, 2, 1];
    static readonly int[] Targets = [2, -100, 0, 4];
    static readonly int[] AttnMask = [1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1];

    static readonly Dictionary<string, Case> Cases = new()
    {
        ["add_broadcast"] = new(r => [R(r, 2, 1, 3), R(r, 4, 1)], x => Add(x[0], x[1])),
        ["sub_broadcast"] = new(r => [R(r, 3), R(r, 2, 3)], x => Sub(x[0], x[1])),
        ["sub_scalar_lhs"] = new(r => [R(r), R(r, 2, 3)], x => Sub(x[0], x[1])),
        ["mul_broadcast"] = new(r => [R(r, 2, 1, 3), R(r, 1, 4, 1)], x => Mul(x[0], x[1])),
        ["div_broadcast"] = new(r => [R(r, 2, 3), Away(r, 0.5f, 2f, 3)], x => Div(x[0], x[1])),
        ["div_scalar_lhs"] = new(r => [R(r), Away(r, 0.5f, 2f, 2, 3)], x => Div(x[0], x[1])),
        ["scale"] = new(r => [R(r, 2, 3)], x => Scale(x[0], -1.7f)),
        ["add_scalar"] = new(r => [R(r, 2, 3)], x => AddScalar(x[0], 0.3f)),
        ["sum_axis"] = new(r => [R(r, 2, 3, 4)], x => Sum(x[0], 1)),
        ["mean_axis_keep"] = new(r => [R(r, 2, 3, 4)], x => Mean(x[0], -1, keepDim: true)),
        ["sum_all"] = new(r => [R(r, 2, 3)], x => Sum(x[0])),
        ["mean_all"] = new(r => [R(r, 2, 3)], x => Mean(x[0])),
        ["reshape"] = new(r => [R(r, 2, 6)], x => Mul(Reshape(x[0], 3, -1), Reshape(x[0], 3, 4))),
        ["unsqueeze"] = new(r => [R(r, 2, 3)], x => Mul(Unsqueeze(x[0], 1), x[0])),
        ["permute"] = new(r => [R(r, 2, 3, 4)], x => Permute(x[0], 2, 0, 1)),
        ["transpose"] = new(r => [R(r, 2, 3, 4)], x => Transpose(x[0], 0, 2)),
        ["slice"] = new(r => [R(r, 3, 5)], x => Slice(x[0], 1, 1, 3)),
        ["concat"] = new(r => [R(r, 2, 1, 3), R(r, 2, 2, 3)], x => Concat([x[0], x[1], x[0]], 1)),
        ["stack"] = new(r => [R(r, 2, 3), R(r, 2, 3)], x => Stack([x[0], x[1]], 1)),
        ["matmul_nn"] = new(r => [R(r, 3, 4), R(r, 4, 2)], x => MatMul(x[0], x[1])),
        ["matmul_tt"] = new(r => [R(r, 4, 3), R(r, 2, 4)], x => MatMul(x[0], x[1], true, true)),
        ["matmul_batched_nt"] = new(r => [R(r, 2, 3, 4), R(r, 2, 2, 4)], x => MatMul(x[0], x[1], false, true)),
        ["matmul_shared_tn"] = new(r => [R(r, 2, 4, 3), R(r, 4, 2)], x => MatMul(x[0], x[1], true, false)),
        ["matmul_shared_tt"] = new(r => [R(r, 2, 4, 3), R(r, 2, 4)], x => MatMul(x[0], x[1], true, true)),
        ["linear"] = new(r => [R(r, 2, 2, 3), R(r, 4, 3), R(r, 4)], x => Linear(x[0], x[1], x[2])),
        ["linear_in_out"] = new(r => [R(r, 3, 3), R(r, 3, 4), R(r, 4)], x => Linear(x[0], x[1], x[2], weightInOut: true)),
        ["softmax"] = new(r => [T(r, 2f, 3, 5)], x => Softmax(x[0])),
        ["log_softmax"] = new(r => [T(r, 2f, 3, 5)], x => LogSoftmax(x[0])),
        ["cross_entropy"] = new(r => [T(r, 2f, 4, 5)], x => CrossEntropy(x[0], Targets)),
        ["layer_norm"] = new(r => [R(r, 3, 6), R(r, 6), R(r, 6)], x => LayerNorm(x[0], x[1], x[2])),
        ["rms_norm"] = new(r => [R(r, 3, 6), R(r, 6)], x => RmsNorm(x[0], x[1])),
        ["gelu_tanh"] = new(r => [T(r, 2f, 3, 5)], x => Gelu(x[0], true)),
        ["gelu_erf"] = new(r => [T(r, 2f, 3, 5)], x => Gelu(x[0], false)),
        ["silu"] = new(r => [T(r, 2f, 3, 5)], x => Silu(x[0])),
        ["relu"] = new(r => [Away(r, 0.1f, 2f, 3, 5)], x => Relu(x[0])),
        ["tanh"] = new(r => [R(r, 3, 5)], x => Tanh(x[0])),
        ["sigmoid"] = new(r => [T(r, 2f, 3, 5)], x => Sigmoid(x[0])),
        ["embedding"] = new(r => [R(r, 5, 3)], x => Embedding(x[0], Ids, 2, 3)),
        ["gather"] = new(r => [R(r, 3, 4)], x => Gather(x[0], 1, GatherIndex, 3, 4)),
        ["dropout"] = new(r => [R(r, 4, 6)], x => Dropout(x[0], 0.4f, new Rng(99))),
        ["attention_causal_gqa"] = new(r => [R(r, 2, 4, 8), R(r, 2, 4, 4), R(r, 2, 4, 4)], x => Attention(x[0], x[1], x[2], 4, 2)),
        ["attention_prefix_mask"] = new(r => [R(r, 2, 3, 4), R(r, 2, 4, 2), R(r, 2, 4, 2), R(r, 2, 2, 2), R(r, 2, 2, 2)],
            x => Attention(x[0], x[1], x[2], 2, 1, x[3], x[4], AttnMask)),
        ["attention_non_causal"] = new(r => [R(r, 1, 3, 4), R(r, 1, 3, 4), R(r, 1, 3, 4)], x => Attention(x[0], x[1], x[2], 2, 2, causal: false)),
        ["attention_dropout_prefix"] = new(r => [R(r, 2, 3, 4), R(r, 2, 4, 2), R(r, 2, 4, 2), R(r, 2, 2, 2), R(r, 2, 2, 2)],   // fixed key: a fixed mask
            x => Attention(x[0], x[1], x[2], 2, 1, x[3], x[4], AttnMask, dropout: new Ops.AttentionDropout(0.3f, 0xABCDEFUL))),
        ["rope"] = new(r => [R(r, 2, 3, 8)], x => Rope(x[0], 2, [1f, 0.1f], [1, 3, 5, 0, 7, 2])),
        ["lstm_layer"] = new(r => [R(r, 2, 3, 2), T(r, 0.5f, 12, 2), T(r, 0.5f, 12, 3), T(r, 0.5f, 12), T(r, 0.5f, 12)],
            x => LstmLayer(x[0], x[1], x[2], x[3], x[4], false)),
        ["lstm_layer_reverse"] = new(r => [R(r, 2, 3, 2), T(r, 0.5f, 12, 2), T(r, 0.5f, 12, 3), T(r, 0.5f, 12), T(r, 0.5f, 12)],
            x => LstmLayer(x[0], x[1], x[2], x[3], x[4], true)),
        ["gumbel_softmax_soft"] = new(r => [R(r, 3, 5), Frozen(R(r, 3, 5))], x => GumbelSoftmax(x[0], 0.7f, false, x[1])),
    };

    public static TheoryData<string> Names => new(Cases.Keys.Order());

    [Theory, MemberData(nameof(Names))]
    public void AutogradMatchesFiniteDifferences(string name)
    {
        var c = Cases[name];
        ulong seed = 17;
        foreach (char ch in name) seed = seed * 31 + ch; // stable across runs (string.GetHashCode is not)
        var rng = new Rng(seed);
        GradCheck.Assert(c.F, c.Inputs(rng));
    }

    [Fact]
    public void GradCheckCatchesAWrongGradient()
    {
        // x·detach(x) has derivative 2x but autograd only sees one path: x. The checker must object.
        var x = R(new Rng(3), 2, 3);
        Assert.NotNull(GradCheck.Check(t => Mul(t[0], t[0].Detach()), [x]));
        // ... and accept the correct graph.
        Assert.Null(GradCheck.Check(t => Mul(t[0], t[0]), [x]));
    }

    [Fact]
    public void GradCheckCatchesASmallScaleError()
    {
        // A gradient 5 % off (y = 1.05·x forward, but 1·x in the graph) is caught.
        var x = R(new Rng(4), 4, 3);
        Assert.NotNull(GradCheck.Check(t =>
        {
            var y = Add(t[0], Scale(t[0].Detach(), 0.05f));
            return y;
        }, [x]));
    }
}
