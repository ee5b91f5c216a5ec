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

    [Fact]
    public void GeluTanhMatchesTheFormulaOverAWideRangeAndSaturates()
    {
        // The fused AVX2 kernel computes tanh as 1 − 2/(e^{2u} + 1): check it, value and derivative, against
        // the formula in double from −30 to 30 (past where e^{2u} overflows) and at 0.
        var xs = Enumerable.Range(0, 6001).Select(i => -30f + i * 0.01f).Append(0f).ToArray();
        var x = Tensor.FromArray(xs, xs.Length);
        x.RequiresGrad = true;
        var y = Gelu(x, approximateTanh: true);
        y.Backward(Tensor.Full(1f, xs.Length));
        for (int i = 0; i < xs.Length; i++)
        {
            double v = xs[i], t = Math.Tanh(0.7978845608028654 * v * (1 + 0.044715 * v * v));
            double f = 0.5 * v * (1 + t), df = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v);
            Assert.True(Math.Abs(y.Span[i] - f) <= 2e-6 * Math.Max(1, Math.Abs(f)), $"gelu({v}) = {y.Span[i]}, expected {f}");
            Assert.True(Math.Abs(x.Grad!.Span[i] - df) <= 2e-6 * Math.Max(1, Math.Abs(df)), $"gelu'({v}) = {x.Grad.Span[i]}, expected {df}");
        }
    }
}
