using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Reshape, Unsqueeze, Permute, Transpose, Slice, Concat, Stack against shape.safetensors.</summary>
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
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });

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
