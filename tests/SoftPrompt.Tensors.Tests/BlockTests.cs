using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// End to end: a GPT-style block (LayerNorm → q,k,v Linear → causal Attention → Linear → residual →
/// LayerNorm → Linear → GELU-tanh → Linear → residual) built from the ops equals PyTorch's, output and
/// gradients of the input and every parameter (block.safetensors).
/// </summary>
public class BlockTests
{
    static Tensor Block(OpCase c)
    {
        int heads = c.Int("heads");
        float eps = c.Float("eps");
        var x = c.In("x");
        var h = LayerNorm(x, c.In("ln1_w"), c.In("ln1_b"), eps);
        var q = Linear(h, c.In("wq"), c.In("bq"));
        var k = Linear(h, c.In("wk"), c.In("bk"));
        var v = Linear(h, c.In("wv"), c.In("bv"));
        var a = Attention(q, k, v, heads, heads);
        x = Add(x, Linear(a, c.In("wo"), c.In("bo")));
        h = LayerNorm(x, c.In("ln2_w"), c.In("ln2_b"), eps);
        var m = Linear(Gelu(Linear(h, c.In("w_fc"), c.In("b_fc")), approximateTanh: true), c.In("w_proj"), c.In("b_proj"));
        return Add(x, m);
    }

    [Fact]
    public void GptBlockMatchesPyTorch() => OpCase.Run("block", "gpt_block", Block);

    [Fact]
    public void GptBlockGradientOfInputPassesFiniteDifferences()
    {
        // The same block, parameters frozen, checked numerically with respect to its input.
        var f = FixtureFile.Load("block");
        string[] names = ["ln1_w", "ln1_b", "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo", "ln2_w", "ln2_b", "w_fc", "b_fc", "w_proj", "b_proj"];
        var p = names.ToDictionary(n => n, n => f.Tensor("gpt_block/" + n));
        var x = f.Tensor("gpt_block/x");
        x.RequiresGrad = true;
        GradCheck.Assert(t =>
        {
            var h = LayerNorm(t[0], p["ln1_w"], p["ln1_b"]);
            var a = Attention(Linear(h, p["wq"], p["bq"]), Linear(h, p["wk"], p["bk"]), Linear(h, p["wv"], p["bv"]), 4, 4);
            var y = Add(t[0], Linear(a, p["wo"], p["bo"]));
            h = LayerNorm(y, p["ln2_w"], p["ln2_b"]);
            return Add(y, Linear(Gelu(Linear(h, p["w_fc"], p["b_fc"])), p["w_proj"], p["b_proj"]));
        }, x);
    }
}
