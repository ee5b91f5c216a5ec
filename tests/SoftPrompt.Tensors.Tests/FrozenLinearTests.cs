using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Weights;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Linear and Embedding with a <see cref="FrozenWeight"/> stored as BF16/F16: forward and the
/// backward to x (and bias) are bitwise the float32 ops on the widened weight (see
/// <see cref="FrozenWeightGemmTests"/> for why bitwise), and the gradient also passes finite differences.
/// </summary>
[Collection(KernelSwitchCollection.Name)]
public class FrozenLinearTests
{
    static readonly WeightDtype[] HalfTypes = [WeightDtype.BF16, WeightDtype.F16];

    static Tensor Random(Random rng, params int[] shape) =>
        Tensor.FromArray(FrozenWeightGemmTests.RandomFloats(rng, shape.Aggregate(1, (a, b) => a * b)), shape);

    /// <summary>A frozen weight and the float32 tensor of exactly its (widened) values.</summary>
    static (FrozenWeight W, Tensor Wide) Weight(Random rng, WeightDtype dtype, int rows, int cols)
    {
        var w = FrozenWeight.FromTensor(Random(rng, rows, cols), dtype);
        return (w, w.ToTensor());
    }

    static void AssertBitwise(Tensor expect, Tensor got, string what)
    {
        Assert.Equal(expect.Shape.ToArray(), got.Shape.ToArray());
        var e = expect.Span; var g = got.Span;
        for (int i = 0; i < e.Length; i++)
            if (BitConverter.SingleToUInt32Bits(e[i]) != BitConverter.SingleToUInt32Bits(g[i]))
                Assert.Fail($"{what}: element {i} is {g[i]:R}, the float32 path gives {e[i]:R}");
    }

    [Theory]
    [InlineData(1, 1, 64, 48)]      // one row: the matrix-vector path (decoding)
    [InlineData(2, 7, 33, 65)]      // awkward sizes
    [InlineData(3, 50, 130, 70)]
    [InlineData(1, 9, 800, 40)]     // K over one KC block
    public void ForwardAndBackwardToXEqualTheFloat32PathBitwise(int batch, int seq, int c, int oc)
    {
        var rng = new Random(batch * 1000 + seq * 10 + c);
        foreach (var dtype in HalfTypes)
            foreach (bool inOut in new[] { false, true })
                foreach (bool withBias in new[] { false, true })
                {
                    var (w, wide) = Weight(rng, dtype, inOut ? c : oc, inOut ? oc : c);
                    var bias = withBias ? Random(rng, oc) : null;
                    var x = Random(rng, batch, seq, c);
                    var seed = Random(rng, batch, seq, oc);
                    string what = $"{dtype} weightInOut={inOut} bias={withBias} x[{batch},{seq},{c}] oc={oc}";

                    var (y1, dx1, db1) = RunBoth(x, bias, seed, (xi, bi) => F.Linear(xi, w, bi, inOut));
                    var (y2, dx2, db2) = RunBoth(x, bias, seed, (xi, bi) => F.Linear(xi, wide, bi, inOut));
                    AssertBitwise(y2, y1, what + " forward");
                    AssertBitwise(dx2, dx1, what + " dx");
                    if (withBias) AssertBitwise(db2!, db1!, what + " dbias");
                }
    }

    /// <summary>y = f(x, bias) and the gradients of Σ y·seed to x and bias, on fresh leaves.</summary>
    static (Tensor Y, Tensor Dx, Tensor? Db) RunBoth(Tensor x, Tensor? bias, Tensor seed, Func<Tensor, Tensor?, Tensor> f)
    {
        Tape.Clear();
        var xi = x.Clone(); xi.RequiresGrad = true;
        var bi = bias?.Clone();
        if (bi is not null) bi.RequiresGrad = true;
        var y = f(xi, bi);
        y.Backward(seed);
        return (y.Detach().Clone(), xi.Grad!.Clone(), bi?.Grad?.Clone());
    }

    [Theory]
    [InlineData(WeightDtype.BF16, false)]
    [InlineData(WeightDtype.BF16, true)]
    [InlineData(WeightDtype.F16, false)]
    [InlineData(WeightDtype.F16, true)]
    public void BackwardToXPassesFiniteDifferences(WeightDtype dtype, bool inOut)
    {
        var rng = new Random(17);
        var (w, _) = Weight(rng, dtype, inOut ? 6 : 5, inOut ? 5 : 6);
        var x = Random(rng, 2, 3, 6); x.RequiresGrad = true;
        var bias = Random(rng, 5); bias.RequiresGrad = true;
        GradCheck.Assert(t => F.Linear(t[0], w, t[1], inOut), x, bias);
        var one = Random(rng, 1, 6); one.RequiresGrad = true;   // one row: the matrix-vector path
        GradCheck.Assert(t => F.Linear(t[0], w, null, inOut), one);
    }

    [Fact]
    public void TiedHeadAndEmbeddingShareOneHalfTable()
    {
        var rng = new Random(3);
        foreach (var dtype in HalfTypes)
        {
            var (table, wide) = Weight(rng, dtype, 101, 24);   // [V, D]
            int[] ids = [0, 100, 7, 7, 55, 3];
            AssertBitwise(F.Embedding(wide, ids, 2, 3), F.Embedding(table, ids, 2, 3), $"{dtype} embedding");
            var h = Random(rng, 2, 3, 24);
            AssertBitwise(F.Linear(h, wide), F.Linear(h, table), $"{dtype} tied head [2,3,24]·[101,24]ᵀ");
            var last = Random(rng, 1, 24);
            AssertBitwise(F.Linear(last, wide), F.Linear(last, table), $"{dtype} tied head, one row");
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => F.Embedding(table, [101], 1));
            Assert.Contains("101", e.Message);
        }
    }

    [Fact]
    public void Float32StorageWrapsTheTensorAndSizesAreReported()
    {
        var rng = new Random(9);
        var t = Random(rng, 30, 20);
        var f32 = FrozenWeight.FromTensor(t);
        Assert.Same(t, f32.Float32);
        Assert.Equal(30 * 20 * 4, f32.SizeInBytes);
        var bf = FrozenWeight.FromTensor(t, WeightDtype.BF16);
        Assert.Equal(30 * 20 * 2, bf.SizeInBytes);
        Assert.Equal(WeightDtype.BF16, bf.Dtype);
        Assert.Equal([30, 20], bf.Shape.ToArray());
        // Narrowing is round-to-nearest: every element within half a bf16 ulp (at most 2⁻⁸ relative).
        var back = bf.ToTensor().Span; var src = t.Span;
        for (int i = 0; i < src.Length; i++) Assert.True(Math.Abs(back[i] - src[i]) <= Math.Abs(src[i]) / 256, $"element {i}: {src[i]:R} became {back[i]:R}");
        var x = Random(rng, 4, 20);
        AssertBitwise(F.Linear(x, t), F.Linear(x, f32), "F32 FrozenWeight");

        var trainable = Random(rng, 3, 3); trainable.RequiresGrad = true;
        Assert.Throws<ArgumentException>(() => FrozenWeight.FromTensor(trainable));
    }

    [Fact]
    public void ColumnsSplitAFusedProjection()
    {
        var rng = new Random(4);
        var t = Random(rng, 8, 12);
        foreach (var dtype in new[] { WeightDtype.F32, WeightDtype.BF16, WeightDtype.F16 })
        {
            var w = FrozenWeight.FromTensor(t, dtype);
            var wide = w.ToTensor().Span;
            var part = w.Columns(4, 4);
            Assert.Equal(dtype, part.Dtype);
            Assert.Equal([8, 4], part.Shape.ToArray());
            var p = part.ToTensor().Span;
            for (int r = 0; r < 8; r++)
                for (int j = 0; j < 4; j++) Assert.Equal(wide[r * 12 + 4 + j], p[r * 4 + j]);
        }
    }

    [Fact]
    public void TransposedHoldsTheSameValuesColumnsFirstAndALinearGivesTheSameOutput()
    {
        var rng = new Random(6);
        var t = Random(rng, 8, 12);
        var x = Random(rng, 3, 8);
        foreach (var dtype in new[] { WeightDtype.F32, WeightDtype.BF16, WeightDtype.F16 })
        {
            var w = FrozenWeight.FromTensor(t, dtype);
            var turned = w.Transposed();
            Assert.Equal((dtype, 12, 8), (turned.Dtype, turned.Rows, turned.Cols));
            var a = w.ToTensor().Span;
            var b = turned.ToTensor().Span;
            for (int r = 0; r < 8; r++)
                for (int c = 0; c < 12; c++) Assert.Equal(a[r * 12 + c], b[c * 8 + r]);
            // x·W with W stored [in, out] and with W stored [out, in]: the same sums (the kernels may order them differently)
            var y1 = F.Linear(x, w, null, weightInOut: true).ToArray();
            var y2 = F.Linear(x, turned, null, weightInOut: false).ToArray();
            for (int i = 0; i < y1.Length; i++) Assert.True(Math.Abs(y1[i] - y2[i]) <= 1e-5f * (1 + Math.Abs(y1[i])), $"{dtype} output {i}: {y1[i]} vs {y2[i]}");
        }
    }

    [Fact]
    public void AddingADeltaToAFrozenWeightIsTheFloat32SumAndItsGradientReachesTheDelta()
    {
        var rng = new Random(5);
        foreach (var dtype in new[] { WeightDtype.F32, WeightDtype.BF16, WeightDtype.F16 })
        {
            var (w, wide) = Weight(rng, dtype, 7, 9);
            var delta = Random(rng, 7, 9);
            var seed = Random(rng, 7, 9);
            var (y1, dDelta1, _) = RunBoth(delta, null, seed, (d, _) => F.Add(w, d));
            var (y2, dDelta2, _) = RunBoth(delta, null, seed, (d, _) => F.Add(wide, d));
            AssertBitwise(y2, y1, $"{dtype} W + ΔW");
            AssertBitwise(dDelta2, dDelta1, $"{dtype} dΔW");
            // used twice (a fold read by two GEMMs): the gradient accumulates
            var (_, twice, _) = RunBoth(delta, null, seed, (d, _) => F.Add(F.Add(w, d), F.Add(w, d)));
            var (_, twiceWide, _) = RunBoth(delta, null, seed, (d, _) => F.Add(F.Add(wide, d), F.Add(wide, d)));
            AssertBitwise(twiceWide, twice, $"{dtype} dΔW, two uses");
            var e = Assert.Throws<ShapeMismatchException>(() => F.Add(w, Tensor.Zeros(9, 7)));
            Assert.Contains("[9, 7]", e.Message);
        }
    }

    [Fact]
    public void ShapeErrorsNameTheWeight()
    {
        var w = FrozenWeight.FromTensor(Tensor.Zeros(5, 6), WeightDtype.BF16);
        w.Name = "h.0.mlp.c_fc.weight";
        var e = Assert.Throws<ShapeMismatchException>(() => F.Linear(Tensor.Zeros(2, 5), w));
        Assert.Contains("h.0.mlp.c_fc.weight", e.Message);
        Assert.Throws<ShapeMismatchException>(() => F.Linear(Tensor.Zeros(2, 6), w, Tensor.Zeros(6)));
    }
}
