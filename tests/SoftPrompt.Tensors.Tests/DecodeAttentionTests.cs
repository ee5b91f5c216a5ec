using SoftPrompt.Tensors.Kernels;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Decoding attention (one query a row, cut into runs of positions that are merged, flash-decoding's way) against the
/// general path; it flips process-wide switches (the run count, the AVX2 path), so it runs with the kernel switches.
/// </summary>
[Collection(KernelSwitchCollection.Name)]
public class DecodeAttentionTests
{
    [Theory]
    [InlineData(1, 16, 0, false)]   // one run: the softmax of the whole row
    [InlineData(3, 16, 5, false)]   // runs merged, a prefix in the first
    [InlineData(3, 16, 5, true)]    // the same on the AVX2 path
    [InlineData(4, 12, 5, false)]   // a head width no vector fills
    [InlineData(7, 16, 0, false)]   // one run wholly hidden by the mask
    public void DecodingMatchesTheLastQueryOfTheFullPass(int runs, int hd, int p, bool force256)
    {
        // A decoding step (one query a row, cut into runs that are merged) against the same query as the last row of a
        // full causal pass (the general path): outputs, probabilities and gradients; grouped heads (4 over 2), a prefix
        // and a padding mask that hides keys of row 1, the positions 40–79 among them.
        const int b = 2, tk = 90, h = 4, hkv = 2;
        var rng = new Rng(31);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); rng.FillNormal(t.Span, 0f, 1f); t.RequiresGrad = true; return t; }
        var (q, k, v) = (R(b, tk, h * hd), R(b, tk, hkv * hd), R(b, tk, hkv * hd));
        var (pk, pv) = p > 0 ? (R(b, p, hkv * hd), R(b, p, hkv * hd)) : (null, null);
        var mask = Enumerable.Repeat(1, b * tk).ToArray();
        foreach (int j in new[] { 0, 3 }.Concat(Enumerable.Range(40, 40))) mask[tk + j] = 0;
        var dy = Tensor.Zeros(b, 1, h * hd); rng.FillNormal(dy.Span, 0f, 1f);
        (float[][] Values, float[] Probs) Run(bool decoding)
        {
            foreach (var t in new[] { q, k, v, pk, pv }) t?.ZeroGrad();
            var query = decoding ? Slice(q, 1, tk - 1, 1) : q;
            var (y, probs) = AttentionWithProbs(query, k, v, h, hkv, pk, pv, mask);
            var last = decoding ? y : Slice(y, 1, tk - 1, 1);
            last.Backward(dy);
            var lastProbs = Enumerable.Range(0, b * h).SelectMany(r => probs.Span.Slice((r * (decoding ? 1 : tk) + (decoding ? 0 : tk - 1)) * (p + tk), p + tk).ToArray()).ToArray();
            return ([last.ToArray(), q.Grad!.ToArray(), k.Grad!.ToArray(), v.Grad!.ToArray(), .. p > 0 ? new[] { pk!.Grad!.ToArray(), pv!.Grad!.ToArray() } : []], lastProbs);
        }
        var general = Run(decoding: false);
        bool saved = Sgemm.ForceVector256;
        (DecodeRunsPerRow, Sgemm.ForceVector256) = (runs, force256);
        try
        {
            var decoded = Run(decoding: true);
            for (int t = 0; t < general.Values.Length; t++)
                for (int i = 0; i < general.Values[t].Length; i++)
                    Assert.True(Math.Abs(decoded.Values[t][i] - general.Values[t][i]) <= 1e-5f * (1 + Math.Abs(general.Values[t][i])),
                        $"tensor {t} element {i}: {decoded.Values[t][i]} decoding in {runs} runs, {general.Values[t][i]} in the full pass");
            for (int i = 0; i < general.Probs.Length; i++)
                Assert.True(Math.Abs(decoded.Probs[i] - general.Probs[i]) <= 1e-6f, $"probability {i}: {decoded.Probs[i]} against {general.Probs[i]}");
        }
        finally { (DecodeRunsPerRow, Sgemm.ForceVector256) = (null, saved); }
    }
}
