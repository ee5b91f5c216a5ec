using static SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Dropout: seeded statistics, inverted scaling, and a backward that reuses the forward's mask.</summary>
public class OpsDropoutTests
{
    static Tensor Random(int n, ulong seed)
    {
        var t = Tensor.Zeros(n);
        new Rng(seed).FillUniform(t.Span, 0.5f, 1.5f); // no zeros: a zero output means dropped
        return t;
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.3f)]
    [InlineData(0.75f)]
    public void DropsAboutPAndScalesKeptValues(float p)
    {
        const int n = 40000;
        var x = Tensor.Full(1f, n);
        var y = Dropout(x, p, new Rng(5));
        float scale = 1f / (1f - p);
        int dropped = 0;
        foreach (float v in y.Span)
        {
            if (v == 0f) dropped++;
            else Assert.Equal(scale, v);
        }
        double frac = (double)dropped / n, sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.InRange(frac, p - 5 * sigma, p + 5 * sigma);
        // inverted dropout keeps the expectation
        double mean = y.ToArray().Average(v => (double)v);
        Assert.InRange(mean, 1 - 5 * sigma * scale, 1 + 5 * sigma * scale);
    }

    [Fact]
    public void MaskIsSpreadEvenly()
    {
        // Each quarter of the tensor drops about p (the counter-based mask has no position bias).
        const int n = 40000; const float p = 0.5f;
        var y = Dropout(Tensor.Full(1f, n), p, new Rng(11));
        for (int q = 0; q < 4; q++)
        {
            int dropped = 0;
            foreach (float v in y.Span.Slice(q * n / 4, n / 4)) if (v == 0f) dropped++;
            Assert.InRange(dropped / (n / 4.0), 0.47, 0.53);
        }
    }

    [Fact]
    public void BackwardUsesTheForwardMask()
    {
        const float p = 0.35f;
        var x = Random(5000, 1);
        x.RequiresGrad = true;
        var y = Dropout(x, p, new Rng(21));
        var gy = Random(5000, 2);
        y.Backward(gy);
        float scale = 1f / (1f - p);
        var xs = x.Span; var ys = y.Span; var gs = gy.Span; var gx = x.Grad!.Span;
        int kept = 0;
        for (int i = 0; i < xs.Length; i++)
        {
            bool keep = ys[i] != 0f;
            if (keep) { kept++; Assert.Equal(xs[i] * scale, ys[i]); }
            Assert.Equal(keep ? gs[i] * scale : 0f, gx[i]);
        }
        Assert.InRange(kept, 3000, 3500);
    }

    [Fact]
    public void SameSeedSameMaskOtherSeedOrNextCallDifferent()
    {
        var x = Random(2000, 3);
        var a = Dropout(x, 0.5f, new Rng(7)).ToArray();
        var b = Dropout(x, 0.5f, new Rng(7)).ToArray();
        var c = Dropout(x, 0.5f, new Rng(8)).ToArray();
        var rng = new Rng(7);
        Dropout(x, 0.5f, rng);
        var d = Dropout(x, 0.5f, rng).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(a, d);
    }

    [Fact]
    public void MaskDependsOnlyOnTheIndexNotOnHowTheWorkIsSplit()
    {
        // The AVX2 path (8 lanes) and the scalar tail must agree: applying the mask in pieces of odd
        // lengths, each starting at its own index, gives the whole tensor's mask.
        const int n = 1003; const ulong key = 0x0123_4567_89AB_CDEFUL; const float p = 0.4f;
        var src = Enumerable.Range(0, n).Select(i => 1f + i).ToArray();
        var whole = new float[n];
        Ops.DropoutMask.Apply(src, whole, 0, key, p, accumulate: false);
        var pieces = new float[n];
        for (int start = 0, len = 1; start < n; start += len, len = len % 13 + 2)
        {
            int l = Math.Min(len, n - start);
            Ops.DropoutMask.Apply(src.AsSpan(start, l), pieces.AsSpan(start, l), (uint)start, key, p, accumulate: false);
        }
        Assert.Equal(whole, pieces);
        for (int i = 0; i < n; i++)
            Assert.Equal(Ops.DropoutMask.Bits24(key, (uint)i) >= Ops.DropoutMask.Threshold(p) ? src[i] * (1f / (1f - p)) : 0f, whole[i]);
    }

    [Fact]
    public void IdentityWhenNotTrainingOrPZero()
    {
        var x = Random(10, 4);
        Assert.Same(x, Dropout(x, 0.5f, new Rng(1), training: false));
        Assert.Same(x, Dropout(x, 0f, new Rng(1)));
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1f)]
    public void RejectsInvalidP(float p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Dropout(Random(4, 5), p, new Rng(1)));
}
