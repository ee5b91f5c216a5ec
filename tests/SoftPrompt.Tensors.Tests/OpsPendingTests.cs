using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// RoPE (HF Llama rotate-half), LSTM layer (PyTorch gate order; bidirectional 2-layer composed),
/// Gumbel-softmax (soft and hard straight-through, given the noise) against rope/lstm/gumbel_softmax.safetensors.
/// These ops are called through <see cref="PendingOps"/> until they are on this branch.
/// </summary>
public class OpsPendingTests
{
    public static TheoryData<string> RopeCases => OpCase.CasesOf("rope");
    public static TheoryData<string> LstmCases => OpCase.CasesOf("lstm", "lstm_layer");
    public static TheoryData<string> GumbelCases => OpCase.CasesOf("gumbel_softmax");

    [Theory, MemberData(nameof(RopeCases))]
    public void RopeMatchesPyTorch(string name) => OpCase.Run("rope", name, c =>
    {
        // inv_freq is an input of the fixture (frozen), passed as plain floats.
        var invFreq = c.In("inv_freq").ToArray();
        return PendingOps.Rope(c.In("x"), c.Int("heads"), invFreq, c.Ints("positions"));
    });

    [Theory, MemberData(nameof(LstmCases))]
    public void LstmLayerMatchesPyTorch(string name) => OpCase.Run("lstm", name, c =>
        PendingOps.LstmLayer(c.In("x"), c.In("w_ih"), c.In("w_hh"), c.InOpt("b_ih"), c.InOpt("b_hh"), c.Bool("reverse")));

    [Fact]
    public void BidirectionalTwoLayerLstmMatchesTorchNnLstm() => OpCase.Run("lstm", "bidirectional_2layer", c =>
    {
        var h = c.In("x");
        for (int layer = 0; layer < c.Int("layers"); layer++)
        {
            var fwd = PendingOps.LstmLayer(h, c.In($"weight_ih_l{layer}"), c.In($"weight_hh_l{layer}"), c.In($"bias_ih_l{layer}"), c.In($"bias_hh_l{layer}"), false);
            var bwd = PendingOps.LstmLayer(h, c.In($"weight_ih_l{layer}_reverse"), c.In($"weight_hh_l{layer}_reverse"), c.In($"bias_ih_l{layer}_reverse"), c.In($"bias_hh_l{layer}_reverse"), true);
            h = Concat([fwd, bwd], -1);
        }
        return h;
    });

    [Theory, MemberData(nameof(GumbelCases))]
    public void GumbelSoftmaxMatchesPyTorch(string name) => OpCase.Run("gumbel_softmax", name, c =>
        PendingOps.GumbelSoftmax(c.In("logits"), c.Float("tau"), c.Bool("hard"), c.In("noise")), extra: (c, y) =>
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
