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
}
