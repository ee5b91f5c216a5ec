using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Add/Sub/Mul/Div with broadcasting, Scale, AddScalar against binary.safetensors.</summary>
public class OpsBinaryTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("binary");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("binary", name, c => c.Op switch
    {
        "add" => Add(c.In("a"), c.In("b")),
        "sub" => Sub(c.In("a"), c.In("b")),
        "mul" => Mul(c.In("a"), c.In("b")),
        "div" => Div(c.In("a"), c.In("b")),
        "scale" => Scale(c.In("x"), c.Float("s")),
        "add_scalar" => AddScalar(c.In("x"), c.Float("s")),
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });

    [Fact]
    public void SameTensorOnBothSidesAccumulatesBothGradients()
    {
        // y = x·x: dy/dx = 2x, the two partials must add into one gradient.
        var x = Tensor.FromArray([1.5f, -2f, 0.25f], 3);
        x.RequiresGrad = true;
        var y = Mul(x, x);
        y.Backward(Tensor.FromArray([1f, 1f, 2f], 3));
        Assert.Equal([3f, -4f, 1f], x.Grad!.ToArray());
    }

    [Theory]
    [InlineData("add")]
    [InlineData("sub")]
    [InlineData("mul")]
    [InlineData("div")]
    public void LongSameShapeOperands_RunInParallelBlocks_WithTheElementwiseResult(string op)
    {
        // 3 blocks of 16,384 floats and a ragged one: values and both gradients, the first overwritten, then accumulated.
        const int n = 3 * 16_384 + 5;
        var rng = new Random(11);
        float[] Rand() => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() + 0.5)).ToArray();
        float[] av = Rand(), bv = Rand(), gv = Rand();
        var a = Tensor.FromArray(av, n); var b = Tensor.FromArray(bv, n);
        a.RequiresGrad = true; b.RequiresGrad = true;
        for (int pass = 1; pass <= 2; pass++)
        {
            var y = op switch { "add" => Add(a, b), "sub" => Sub(a, b), "mul" => Mul(a, b), _ => Div(a, b) };
            y.Backward(Tensor.FromArray(gv, n));
            for (int i = 0; i < n; i += 997)
            {
                float expected = op switch { "add" => av[i] + bv[i], "sub" => av[i] - bv[i], "mul" => av[i] * bv[i], _ => av[i] / bv[i] };
                float da = op switch { "add" or "sub" => gv[i], "mul" => gv[i] * bv[i], _ => gv[i] / bv[i] };
                Assert.Equal(expected, y.Span[i]);
                Assert.Equal(pass * da, a.Grad!.Span[i], 5e-6f * pass * Math.Abs(da));
            }
            Assert.Equal(y.Span[n - 1], op switch { "add" => av[^1] + bv[^1], "sub" => av[^1] - bv[^1], "mul" => av[^1] * bv[^1], _ => av[^1] / bv[^1] });
        }
    }
}
