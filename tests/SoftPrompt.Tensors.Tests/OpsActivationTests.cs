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

    [Fact]
    public void GeluTanh_WideLanes_HaveTheBitsOfTheEightLanePath()
    {
        // Whole rows run 16 lanes at a time where the CPU has AVX-512; rows of 8 run the 8-lane loop only.
        // Both must give the same bits, value and gradient (a checkpoint resumed on another machine stays exact).
        var rng = new Random(3);
        var xs = Enumerable.Range(0, 4096).Select(_ => (float)(rng.NextDouble() * 16 - 8)).ToArray();
        var gs = Enumerable.Range(0, 4096).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var (wideY, wideGrad) = GeluWithGrad(xs, gs);
        for (int start = 0; start < xs.Length; start += 8)
        {
            var (y, grad) = GeluWithGrad(xs[start..(start + 8)], gs[start..(start + 8)]);
            for (int i = 0; i < 8; i++)
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits(wideY[start + i]), BitConverter.SingleToUInt32Bits(y[i]));
                Assert.Equal(BitConverter.SingleToUInt32Bits(wideGrad[start + i]), BitConverter.SingleToUInt32Bits(grad[i]));
            }
        }

        static (float[] Y, float[] Grad) GeluWithGrad(float[] xs, float[] gs)
        {
            var x = Tensor.FromArray(xs, xs.Length);
            x.RequiresGrad = true;
            var y = Gelu(x, approximateTanh: true);
            y.Backward(Tensor.FromArray(gs, gs.Length));
            return (y.Span.ToArray(), x.Grad!.Span.ToArray());
        }
    }
}
