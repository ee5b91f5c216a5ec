using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Embedding (repeated ids scatter-add) and Gather (torch.gather) against embedding.safetensors.</summary>
public class OpsEmbeddingTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("embedding");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("embedding", name, c => c.Op switch
    {
        "embedding" => Embedding(c.In("table"), c.Ints("ids"), c.ShapeOf("ids")),
        "gather" => Gather(c.In("x"), c.Int("dim"), c.Ints("index"), c.ShapeOf("index")),
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });
}
