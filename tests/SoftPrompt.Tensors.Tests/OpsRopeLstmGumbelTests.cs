using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// RoPE (HF Llama rotate-half), LSTM layer (PyTorch gate order; bidirectional 2-layer composed),
/// Gumbel-softmax (soft and hard straight-through, given the noise) against rope/lstm/gumbel_softmax.safetensors.
/// Gumbel noise is passed in, so the result is deterministic.
/// </summary>
public class OpsRopeLstmGumbelTests
{
    public static TheoryData<string> RopeCases => OpCase.CasesOf("rope");
    public static TheoryData<string> LstmCases => OpCase.CasesOf("lstm", "lstm_layer");
    public static TheoryData<string> GumbelCases => OpCase.CasesOf("gumbel_softmax");

    [Theory, MemberData(nameof(RopeCases))]
    public void RopeMatchesPyTorch(string name) => OpCase.Run("rope", name, c =>
    {
        // inv_freq is an input of the fixture (frozen), passed as plain floats.
        var invFreq = c.In("inv_freq").ToArray();
        return Rope(c.In("x"), c.Int("heads"), invFreq, c.Ints("positions"));
    });

    [Theory, MemberData(nameof(LstmCases))]
    public void LstmLayerMatchesPyTorch(string name) => OpCase.Run("lstm", name, c =>
        LstmLayer(c.In("x"), c.In("w_ih"), c.In("w_hh"), c.InOpt("b_ih"), c.InOpt("b_hh"), c.Bool("reverse")));

    [Fact]
    public void BidirectionalTwoLayerLstmMatchesTorchNnLstm() => OpCase.Run("lstm", "bidirectional_2layer", c =>
    {
        var h = c.In("x");
        for (int layer = 0; layer < c.Int("layers"); layer++)
        {
            var fwd = LstmLayer(h, c.In($"weight_ih_l{layer}"), c.In($"weight_hh_l{layer}"), c.In($"bias_ih_l{layer}"), c.In($"bias_hh_l{layer}"), false);
            var bwd = LstmLayer(h, c.In($"weight_ih_l{layer}_reverse"), c.In($"weight_hh_l{layer}_reverse"), c.In($"bias_ih_l{layer}_reverse"), c.In($"bias_hh_l{layer}_reverse"), true);
            h = Concat([fwd, bwd], -1);
        }
        return h;
    });

    [Theory, MemberData(nameof(GumbelCases))]
    public void GumbelSoftmaxMatchesPyTorch(string name) => OpCase.Run("gumbel_softmax", name, c =>
        GumbelSoftmax(c.In("logits"), c.Float("tau"), c.Bool("hard"), c.In("noise")), extra: (c, y) =>
        {
            if (!c.Bool("hard")) return;
            // Hard samples are one-hot rows (up to the straight-through rounding).
            int v = y.Size(-1);
            for (int r = 0; r < y.Length / v; r++)
            {
                var row = y.Span.Slice(r * v, v);
                Assert.Equal(1, row.ToArray().Count(value => MathF.Abs(value - 1f) < 1e-5f));
                Assert.Equal(v - 1, row.ToArray().Count(value => MathF.Abs(value) < 1e-5f));
            }
        });
}

/// <summary>GumbelSoftmax with its own noise (the Rng overload): the Gumbel-max trick samples argmax ~ softmax(logits).</summary>
public class OpsGumbelSamplingTests
{
    [Fact]
    public void HardSamplesFollowSoftmaxOfLogits()
    {
        const int n = 20000; float[] row = [0.5f, -1f, 1.2f, 0f];
        var logits = Tensor.Zeros(n, 4);
        for (int i = 0; i < n; i++) row.CopyTo(logits.Span.Slice(i * 4, 4));
        var y = GumbelSoftmax(logits, 0.5f, true, new Rng(123));
        var counts = new int[4];
        for (int i = 0; i < n; i++)
        {
            var r = y.Span.Slice(i * 4, 4);
            int hot = -1;
            for (int j = 0; j < 4; j++) if (MathF.Abs(r[j] - 1f) < 1e-5f) hot = j;
            Assert.True(hot >= 0, $"row {i} is not one-hot");
            counts[hot]++;
        }
        double z = row.Sum(v => Math.Exp(v));
        for (int j = 0; j < 4; j++)
        {
            double p = Math.Exp(row[j]) / z, sigma = Math.Sqrt(p * (1 - p) / n);
            Assert.InRange(counts[j] / (double)n, p - 5 * sigma, p + 5 * sigma);
        }
    }
}
