using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>GELU (tanh and erf), SiLU, ReLU, Tanh, Sigmoid against activations.safetensors.</summary>
public class OpsActivationTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("activations");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name) => OpCase.Run("activations", name, c => c.Op switch
    {
        "gelu_tanh" => Gelu(c.In("x"), approximateTanh: true),
        "gelu_erf" => Gelu(c.In("x"), approximateTanh: false),
        "silu" => Silu(c.In("x")),
        "relu" => Relu(c.In("x")),
        "tanh" => Tanh(c.In("x")),
        "sigmoid" => Sigmoid(c.In("x")),
        var op => throw new InvalidOperationException($"unknown op {op}"),
    });
}
