using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Every op rejects mismatched operands with a ShapeMismatchException naming the op and both shapes.</summary>
public class ShapeMismatchTests
{
    static Tensor Z(params int[] shape) => Tensor.Zeros(shape);

    // name -> (call, substrings the message must contain: op name and both shapes)
    static readonly Dictionary<string, (Action Call, string[] Mentions)> Cases = new()
    {
        ["add"] = (() => Add(Z(2, 3), Z(4)), ["Add", "[2, 3]", "[4]"]),
        ["sub"] = (() => Sub(Z(2, 3, 4), Z(3, 2)), ["Sub", "[2, 3, 4]", "[3, 2]"]),
        ["mul"] = (() => Mul(Z(5), Z(2, 4)), ["Mul", "[5]", "[2, 4]"]),
        ["div"] = (() => Div(Z(2, 1, 3), Z(2, 2)), ["Div", "[2, 1, 3]", "[2, 2]"]),
        ["matmul_inner"] = (() => MatMul(Z(2, 3), Z(4, 5)), ["MatMul", "[2, 3]", "[4, 5]"]),
        ["matmul_trans_inner"] = (() => MatMul(Z(2, 3), Z(4, 3), transB: false), ["MatMul", "[2, 3]", "[4, 3]"]),
        ["matmul_batch"] = (() => MatMul(Z(2, 3, 4), Z(3, 4, 5)), ["MatMul", "[2, 3, 4]", "[3, 4, 5]"]),
        ["linear_in"] = (() => Linear(Z(2, 3), Z(4, 5)), ["Linear", "[2, 3]", "[4, 5]"]),
        ["linear_in_out"] = (() => Linear(Z(2, 3), Z(4, 5), weightInOut: true), ["Linear", "[2, 3]", "[4, 5]"]),
        ["linear_bias"] = (() => Linear(Z(2, 3), Z(4, 3), Z(5)), ["Linear", "[4, 3]", "[5]"]),
        ["layer_norm_weight"] = (() => LayerNorm(Z(2, 3), Z(4), null), ["LayerNorm", "[2, 3]", "[4]"]),
        ["layer_norm_bias"] = (() => LayerNorm(Z(2, 3), Z(3), Z(2)), ["LayerNorm", "[2, 3]", "[2]"]),
        ["rms_norm_weight"] = (() => RmsNorm(Z(2, 3), Z(2)), ["RmsNorm", "[2, 3]", "[2]"]),
        ["reshape"] = (() => Reshape(Z(2, 3), 4, 2), ["Reshape", "[2, 3]", "[4, 2]"]),
        ["reshape_infer"] = (() => Reshape(Z(2, 3), 4, -1), ["Reshape", "[2, 3]", "[4, -1]"]),
        ["permute"] = (() => Permute(Z(2, 3), 0, 0), ["Permute", "[2, 3]", "[0, 0]"]),
        ["concat"] = (() => Concat([Z(2, 3), Z(3, 3)], 1), ["Concat", "[2, 3]", "[3, 3]"]),
        ["concat_rank"] = (() => Concat([Z(2, 3), Z(2, 3, 1)], 0), ["Concat", "[2, 3]", "[2, 3, 1]"]),
        ["stack"] = (() => Stack([Z(2, 3), Z(2, 4)], 0), ["Stack", "[2, 3]", "[2, 4]"]),
        ["gather_rank"] = (() => Gather(Z(3, 4), 1, new int[3], 3), ["Gather", "[3, 4]", "[3]"]),
        ["gather_size"] = (() => Gather(Z(3, 4), 1, new int[8], 4, 2), ["Gather", "[3, 4]", "[4, 2]"]),
        ["attention_key"] = (() => Attention(Z(1, 2, 8), Z(1, 2, 6), Z(1, 2, 6), 2, 2), ["Attention", "[1, 2, 8]", "[1, 2, 6]"]),
        ["attention_kv"] = (() => Attention(Z(1, 2, 8), Z(1, 2, 8), Z(1, 3, 8), 2, 2), ["Attention", "[1, 2, 8]", "[1, 3, 8]"]),
        ["attention_prefix"] = (() => Attention(Z(1, 2, 8), Z(1, 2, 8), Z(1, 2, 8), 2, 2, Z(1, 3, 4), Z(1, 3, 4)), ["Attention", "[1, 2, 8]", "[1, 3, 4]"]),
        ["attention_fewer_keys"] = (() => Attention(Z(1, 3, 8), Z(1, 2, 8), Z(1, 2, 8), 2, 2), ["Attention", "[1, 3, 8]", "[1, 2, 8]"]),
        ["attention_mask"] = (() => Attention(Z(1, 2, 8), Z(1, 2, 8), Z(1, 2, 8), 2, 2, mask: new int[3]), ["Attention", "[1, 2, 8]", "3"]),
        ["cross_entropy_targets"] = (() => CrossEntropy(Z(3, 5), new int[4]), ["CrossEntropy", "[3, 5]", "4"]),
        ["embedding_ids"] = (() => Embedding(Z(5, 3), new int[5], 2, 3), ["Embedding", "[2, 3]", "5"]),
        ["backward_seed"] = (() => { var x = Z(2, 3); x.RequiresGrad = true; Scale(x, 2f).Backward(Z(3, 2)); }, ["Backward", "[2, 3]", "[3, 2]"]),
    };

    public static TheoryData<string> Names => new(Cases.Keys.Order());

    [Theory, MemberData(nameof(Names))]
    public void ThrowsNamingOpAndShapes(string name)
    {
        var (call, mentions) = Cases[name];
        var e = Assert.Throws<ShapeMismatchException>(call);
        foreach (var m in mentions)
            Assert.True(e.Message.Contains(m, StringComparison.Ordinal), $"message \"{e.Message}\" does not mention {m}");
    }

    [Fact]
    public void RopeLstmGumbelRejectMismatchedShapes()
    {
        // RoPE: invFreq must be hd/2; LSTM: weights must match 4H×I and 4H×H; Gumbel: noise must match logits.
        var e1 = Assert.ThrowsAny<Exception>(() => Rope(Z(1, 2, 8), 2, new float[3], new int[2]));
        Assert.IsType<ShapeMismatchException>(e1);
        Assert.Contains("Rope", e1.Message);
        var e2 = Assert.ThrowsAny<Exception>(() => LstmLayer(Z(1, 2, 3), Z(8, 4), Z(8, 2), null, null, false));
        Assert.IsType<ShapeMismatchException>(e2);
        Assert.Contains("[1, 2, 3]", e2.Message); Assert.Contains("[8, 4]", e2.Message);
        var e3 = Assert.ThrowsAny<Exception>(() => GumbelSoftmax(Z(2, 5), 1f, false, Z(2, 4)));
        Assert.IsType<ShapeMismatchException>(e3);
        Assert.Contains("[2, 5]", e3.Message); Assert.Contains("[2, 4]", e3.Message);
    }
}
