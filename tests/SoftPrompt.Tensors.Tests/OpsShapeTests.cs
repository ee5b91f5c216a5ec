using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Reshape, Unsqueeze, Permute, Transpose, Slice, Concat, Stack, Split against shape.safetensors.</summary>
public class OpsShapeTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("shape");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("shape", name, c => c.Op switch
    {
        "reshape" => Reshape(c.In("x"), c.IntArray("shape")),
        "unsqueeze" => Unsqueeze(c.In("x"), c.Int("dim")),
        "permute" => Permute(c.In("x"), c.IntArray("dims")),
        "transpose" => Transpose(c.In("x"), c.Int("dim0"), c.Int("dim1")),
        "slice" => Slice(c.In("x"), c.Int("dim"), c.Int("start"), c.Int("length")),
        "concat" => Concat([c.In("x0"), c.In("x1"), c.In("x2")], c.Int("dim")),
        "stack" => Stack([c.In("x0"), c.In("x1"), c.In("x2")], c.Int("dim")),
        "split" => Split(c.In("x"), c.Int("dim"), c.Int("parts")) is var p ? Concat([p[2], p[0]], c.Int("dim")) : null!,
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SplitIsSlicesInOneNode(bool leaf)
    {
        // The parts and the input's gradient equal three Slices' bit for bit: with x a leaf (its gradient accumulates over
        // two backward passes) and with x an op's output (the first gradient it gets is written, not added); one part unused.
        var rng = new Rng(11);
        Tensor Input() { var t = Tensor.ZerosOnHeap(5, 4, 9); rng.FillNormal(t.Span, 0f, 1f); return t; }
        var source = Input(); var weights = new[] { Input(), Input() };
        float[] Gradient(Func<Tensor, Tensor[]> parts)
        {
            var x = Tensor.ZerosOnHeap(5, 4, 9); source.Span.CopyTo(x.Span); x.RequiresGrad = true;
            // Pooled buffers of x's size come back dirty, so a gradient region left unwritten would show.
            using (TensorScope.Begin())
                for (int i = 0; i < 4; i++) Tensor.Uninitialized(5, 4, 9).Span.Fill(float.NaN);
            using var scope = TensorScope.Begin();
            for (int pass = 0; pass < (leaf ? 2 : 1); pass++)
            {
                var input = leaf ? x : Mul(x, x);
                var w0 = Slice(weights[0], -1, 0, 3); var w2 = Slice(weights[1], -1, 0, 3);
                var p = parts(input);
                var loss = Add(Sum(Mul(p[0], w0)), Sum(Mul(p[2], w2)));
                loss.Backward();
            }
            return x.Grad!.ToArray();
        }
        var split = Gradient(t => Split(t, -1, 3));
        var sliced = Gradient(t => [Slice(t, -1, 0, 3), Slice(t, -1, 3, 3), Slice(t, -1, 6, 3)]);
        Assert.Equal(sliced, split);
        Assert.Contains(split, g => g != 0f);
        var again = Split(source, 2, 3);
        for (int i = 0; i < 3; i++) Assert.Equal(Slice(source, 2, 3 * i, 3).ToArray(), again[i].ToArray());
    }

    [Fact]
    public void SplitRefusesUnequalParts()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => Split(Tensor.ZerosOnHeap(2, 7), -1, 3));
        Assert.Contains("size 7", e.Message);
        Assert.Contains("3 equal parts", e.Message);
    }

    [Fact]
    public void ReshapeOfReshapeSharesGradient()
    {
        // Two views of one leaf used twice: gradients from both paths reach the leaf.
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        x.RequiresGrad = true;
        var a = Reshape(x, 3, 2);
        var b = Reshape(a, 6);
        var y = Add(Reshape(b, 2, 3), x);
        y.Backward(Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        Assert.Equal([2f, 4f, 6f, 8f, 10f, 12f], x.Grad!.ToArray());
    }
}
