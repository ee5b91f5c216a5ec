using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Sum and Mean over an axis (keepDim or not) and over everything, against reduce.safetensors.</summary>
public class OpsReduceTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("reduce");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("reduce", name, c => c.Op switch
    {
        "sum" => Sum(c.In("x"), c.Int("dim"), c.Bool("keep_dim")),
        "mean" => Mean(c.In("x"), c.Int("dim"), c.Bool("keep_dim")),
        "sum_all" => Sum(c.In("x")),
        "mean_all" => Mean(c.In("x")),
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });
}
