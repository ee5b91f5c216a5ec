using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Sgemm's bias epilogue (<c>C = alpha·op(A)·op(B) + bias</c>, the bias added as the tiles are stored) against the
/// two-pass form it replaces — every row of C filled with the bias, then the product with beta = 1 — bit for bit:
/// full and edge tiles of both micro-kernels, K over one KC block (later blocks must not add it again), N over one NC
/// panel, the matrix-vector paths (m = 1, n = 1), k = 0, padded leading dimensions, every layout, 16-bit B.
/// </summary>
[Collection(KernelSwitchCollection.Name)]   // flips Sgemm.ForceVector256, a process-wide switch: a parallel flip between two products broke a bitwise comparison
public class GemmBiasTests
{
    static readonly (bool TransA, bool TransB)[] Layouts = [(false, false), (false, true), (true, false), (true, true)];

    [Theory]
    [InlineData(12, 32, 16)]      // one full 12×32 tile (two 6×16 tiles wide)
    [InlineData(19, 31, 64)]      // edge tiles only
    [InlineData(100, 70, 65)]     // full and edge tiles
    [InlineData(65, 40, 1000)]    // K over one KC block
    [InlineData(13, 4500, 20)]    // N over one NC panel per thread
    [InlineData(300, 200, 256)]   // parallel: threads split rows
    [InlineData(1, 100, 70)]      // a row vector times a matrix
    [InlineData(100, 1, 70)]      // a matrix times a vector
    [InlineData(7, 9, 0)]         // no K: C is the bias
    public void BiasEpilogue_HasTheBitsOfFillingCThenAccumulating(int m, int n, int k)
    {
        foreach (var (ta, tb) in Layouts)
            foreach (bool force256 in BothKernels())
                foreach (var (alpha, pad) in new[] { (1f, 0), (0.375f, 3) })
                {
                    var rng = new Random(m * 7919 + n * 31 + k + pad);
                    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
                    var a = Random(rng, Math.Max(0, ((ta ? k : m) - 1) * lda + (ta ? m : k)));
                    var b = Random(rng, Math.Max(0, ((tb ? n : k) - 1) * ldb + (tb ? k : n)));
                    var bias = Random(rng, n);
                    var expected = FilledWithNaN(m, ldc);
                    var got = FilledWithNaN(m, ldc);
                    for (int i = 0; i < m; i++) bias.CopyTo(expected.AsSpan(i * ldc, n));

                    bool saved = Sgemm.ForceVector256;
                    Sgemm.ForceVector256 = force256;
                    try
                    {
                        Sgemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, expected, ldc, alpha, beta: 1f);
                        Sgemm.Multiply(ta, tb, m, n, k, a, lda, b, ldb, got, ldc, alpha, bias: bias);
                    }
                    finally { Sgemm.ForceVector256 = saved; }
                    AssertSameBits($"{(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} {m}x{n}x{k} alpha={alpha} pad={pad} v256={force256}", expected, got, ldc, n);
                }
    }

    [Theory]
    [InlineData(WeightDtype.BF16, false)]
    [InlineData(WeightDtype.F16, true)]
    public void BiasEpilogue_With16BitB_HasTheBitsOfFillingCThenAccumulating(WeightDtype dtype, bool transB)
    {
        const int m = 37, n = 70, k = 50;
        var rng = new Random(5);
        var a = Random(rng, m * k);
        var b = new ushort[n * k];
        for (int i = 0; i < b.Length; i++) b[i] = dtype == WeightDtype.BF16 ? (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() - 0.5)) >> 16) : BitConverter.HalfToUInt16Bits((Half)(rng.NextDouble() - 0.5));
        var bias = Random(rng, n);
        var expected = FilledWithNaN(m, n);
        var got = FilledWithNaN(m, n);
        for (int i = 0; i < m; i++) bias.CopyTo(expected.AsSpan(i * n, n));
        Sgemm.MultiplyHalfB(false, transB, m, n, k, a, k, b, dtype, transB ? k : n, expected, n, beta: 1f);
        Sgemm.MultiplyHalfB(false, transB, m, n, k, a, k, b, dtype, transB ? k : n, got, n, bias: bias);
        AssertSameBits($"{dtype} transB={transB}", expected, got, n, n);
    }

    [Fact]
    public void BadBias_Throws()
    {
        var a = new float[6]; var b = new float[6]; var c = new float[4];
        Assert.Contains("bias holds 1", Assert.ThrowsAny<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b, 2, c, 2, bias: new float[1])).Message);
        Assert.Contains("beta must be 0", Assert.ThrowsAny<ArgumentException>(() => Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b, 2, c, 2, beta: 1f, bias: new float[2])).Message);
    }

    static void AssertSameBits(string what, float[] expected, float[] got, int ldc, int n)
    {
        for (int i = 0; i < got.Length; i++)
            if (BitConverter.SingleToUInt32Bits(got[i]) != BitConverter.SingleToUInt32Bits(expected[i]))
                Assert.Fail($"{what}: C[{i / ldc},{i % ldc}] = {got[i]:R} with the bias epilogue, {expected[i]:R} filling then accumulating" +
                    (i % ldc >= n ? " (a padding column)" : ""));
        Assert.DoesNotContain(got.Where((_, i) => i % ldc < n), float.IsNaN);
    }

    static float[] FilledWithNaN(int rows, int ld)
    {
        var c = new float[Math.Max(0, rows * ld)];
        Array.Fill(c, float.NaN);
        return c;
    }

    static float[] Random(Random rng, int length)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }

    static IEnumerable<bool> BothKernels()
    {
        yield return false;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) yield return true;
    }
}
