using SoftPrompt.Tensors.Tests.Fixtures;
using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Fused attention against attention.safetensors: causal, non-causal, padding masks (left/right),
/// prefix keys/values (mask with and without prefix entries), GQA (H=4 over Hkv=2 and 1), a cached
/// past (Tq &lt; Tk), frozen operands, and 300-long rows (tolerance 1e-3). Probabilities are checked too.
/// </summary>
public class OpsAttentionTests
{
    public static TheoryData<string> Cases => OpCase.CasesOf("attention");

    [Theory, MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        double tol = name.StartsWith("long_rows", StringComparison.Ordinal) ? 1e-3 : 1e-4;
        OpCase.Run("attention", name, Forward, tol);
    }

    [Theory, MemberData(nameof(Cases))]
    public void ProbabilitiesMatchPyTorch(string name)
    {
        var f = FixtureFile.Load("attention");
        if (!f.Has($"{name}/probs")) return; // long rows: probabilities not stored (size)
        OpCase.Run("attention", name, c =>
        {
            var (o, probs) = AttentionWithProbs(c.In("q"), c.In("k"), c.In("v"), c.Int("heads"), c.Int("kv_heads"),
                c.InOpt("pk"), c.InOpt("pv"), c.IntsOpt("mask"), c.Bool("causal"), c.Has("scale") ? c.Float("scale") : null);
            Compare.Close(probs, c.Expected("probs"), 1e-4, $"{c.Where} probs");
            Assert.False(probs.RequiresGrad, "probabilities must not be part of the graph");
            return o;
        });
    }

    static Tensor Forward(OpCase c) =>
        Attention(c.In("q"), c.In("k"), c.In("v"), c.Int("heads"), c.Int("kv_heads"),
            c.InOpt("pk"), c.InOpt("pv"), c.IntsOpt("mask"), c.Bool("causal"), c.Has("scale") ? c.Float("scale") : null);

    [Fact]
    public void KeysInALargerBufferEqualTheSameKeysAlone()
    {
        // k, v: [B, 9, W] buffers of which 6 rows are keys (a cache with spare capacity) vs the 6 rows as [B, 6, W].
        var rng = new Rng(12);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); rng.FillNormal(t.Span, 0f, 1f); return t; }
        var q = R(2, 2, 8); var kBuf = R(2, 9, 4); var vBuf = R(2, 9, 4);
        var k = Slice(kBuf, 1, 0, 6); var v = Slice(vBuf, 1, 0, 6);
        int[] mask = [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1];
        var expected = Attention(q, k, v, 2, 1, mask: mask).ToArray();
        Assert.Equal(expected, Attention(q, kBuf, vBuf, 2, 1, mask: mask, keyLength: 6).ToArray());
        Assert.Throws<ShapeMismatchException>(() => Attention(q, kBuf, vBuf, 2, 1, keyLength: 10));
    }

    [Theory]
    [InlineData(29, 0, 29)]    // a pretraining row: 29 keys, 4 vectors wide with a tail
    [InlineData(19, 12, 19)]   // the setup 4 prefix: 12 prefix keys and 19 content keys
    [InlineData(10, 0, 29)]    // queries at the end of a longer sequence (the last layer's loss positions)
    [InlineData(70, 3, 70)]    // rows longer than the short-row softmax: the general one
    public void CausalRowsWithoutAMask_MatchTheMaskedPath(int tq, int p, int tk)
    {
        // Without a padding mask the causal softmax runs on the visible keys only; a mask that hides a key of batch row 1
        // sends the whole call down the general path (scores masked to -inf, then the softmax over the whole row), while
        // batch row 0 hides nothing: its outputs and every gradient must agree with the maskless call's.
        var rng = new Rng(29);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); rng.FillNormal(t.Span, 0f, 1f); t.RequiresGrad = true; return t; }
        var (q, k, v, pk, pv) = (R(2, tq, 16), R(2, tk, 16), R(2, tk, 16), p > 0 ? R(2, p, 16) : null, p > 0 ? R(2, p, 16) : null);
        var dy = Tensor.Zeros(2, tq, 16); rng.FillNormal(dy.Span, 0f, 1f);
        float[][] Run(int[]? mask)
        {
            foreach (var t in new[] { q, k, v, pk, pv }) t?.ZeroGrad();
            var y = Attention(q, k, v, 2, 2, pk, pv, mask: mask);
            y.Backward(dy);
            return [y.ToArray(), q.Grad!.ToArray(), k.Grad!.ToArray(), v.Grad!.ToArray(), .. p > 0 ? new[] { pk!.Grad!.ToArray(), pv!.Grad!.ToArray() } : []];
        }
        var shortPath = Run(null);
        var mask = Enumerable.Repeat(1, 2 * tk).ToArray();
        mask[tk] = 0;
        var general = Run(mask);
        for (int t = 0; t < general.Length; t++)
            for (int i = 0; i < general[t].Length / 2; i++)   // batch row 0: the first half of every [2, ·, ·] tensor
                Assert.True(Math.Abs(shortPath[t][i] - general[t][i]) <= 1e-5f * (1 + Math.Abs(general[t][i])),
                    $"tensor {t} element {i}: {shortPath[t][i]} without a mask, {general[t][i]} with an all-ones mask");
    }

    [Fact]
    public void FullyMaskedQueryRowsOutputExactZeros()
    {
        // pad_left: batch row 1 has mask [0,0,1,1,1]; its causal queries 0 and 1 see no key.
        var f = FixtureFile.Load("attention");
        var q = f.Tensor("pad_left/q"); var k = f.Tensor("pad_left/k"); var v = f.Tensor("pad_left/v");
        var y = Attention(q, k, v, 2, 2, mask: f.Ints("pad_left/mask"));
        int row = q.Shape[2];
        var b1 = y.Span.Slice(1 * 5 * row, 2 * row);
        foreach (float value in b1) Assert.Equal(0f, value);
        Assert.All(y.ToArray(), value => Assert.True(float.IsFinite(value)));
    }

    [Fact]
    public void DropoutDropsTheProbabilitiesThatWeightTheValues()
    {
        // O[b, i, h] = Σ_j drop(P)[b, h, i, j] · [Vp; V][b, j, hkv], the mask a function of P's flat index; P itself
        // (the softmax, the returned probabilities) is not dropped. Prefix of 2, GQA 4 over 2.
        var rng = new Rng(12);
        Tensor R(params int[] shape) { var t = Tensor.Zeros(shape); rng.FillNormal(t.Span, 0f, 1f); return t; }
        int b = 2, tq = 5, tk = 5, p = 2, h = 4, hkv = 2, hd = 3, l = p + tk;
        var (q, k, v, pk, pv) = (R(b, tq, h * hd), R(b, tk, hkv * hd), R(b, tk, hkv * hd), R(b, p, hkv * hd), R(b, p, hkv * hd));
        var drop = new Ops.AttentionDropout(0.25f, 0x5EEDUL);
        var (plain, probs) = AttentionWithProbs(q, k, v, h, hkv, pk, pv);
        var dropped = Attention(q, k, v, h, hkv, pk, pv, dropout: drop);
        var pd = new float[probs.Length];
        Ops.DropoutMask.Apply(probs.Span, pd, 0, drop.Key, drop.P, accumulate: false);
        Assert.Contains(pd, x => x == 0f);
        for (int bi = 0; bi < b; bi++)
            for (int hi = 0; hi < h; hi++)
                for (int i = 0; i < tq; i++)
                    for (int c = 0; c < hd; c++)
                    {
                        double sum = 0;
                        for (int j = 0; j < l; j++)
                        {
                            float value = j < p ? pv.Span[(bi * p + j) * hkv * hd + hi / 2 * hd + c] : v.Span[(bi * tk + j - p) * hkv * hd + hi / 2 * hd + c];
                            sum += pd[((bi * h + hi) * tq + i) * l + j] * value;
                        }
                        Assert.Equal(sum, dropped.Span[(bi * tq + i) * h * hd + hi * hd + c], 4);
                    }
        Assert.NotEqual(plain.ToArray(), dropped.ToArray());
        Assert.Equal(plain.ToArray(), Attention(q, k, v, h, hkv, pk, pv, dropout: new Ops.AttentionDropout(0f, 1)).ToArray());
    }
}
