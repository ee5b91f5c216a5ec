using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>LayerNorm and RmsNorm, with input, weight and bias gradients, against norms.safetensors.</summary>
public class OpsNormTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("norms");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("norms", name, c => c.Op == "layer_norm"
        ? LayerNorm(c.In("x"), c.InOpt("w"), c.InOpt("b"), c.Float("eps"))
        : RmsNorm(c.In("x"), c.InOpt("w"), c.Float("eps")));
}
