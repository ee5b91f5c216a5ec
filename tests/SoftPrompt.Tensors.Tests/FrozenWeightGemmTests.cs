using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Tests that flip <see cref="Sgemm.ForceVector256"/> (a process-wide switch) and compare two
/// products bitwise run in this collection, after every parallel test class has finished.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelSwitchCollection
{
    public const string Name = "kernel switch (not parallel)";
}

/// <summary>
/// <see cref="Sgemm.MultiplyHalfB"/> against <see cref="Sgemm.Multiply"/> on the widened matrix.
/// They must agree bitwise, not just within rounding: widening bf16/f16 to float32 is exact, the
/// packed B panel then holds the very floats the float32 path packs, the micro-kernel and the
/// blocking are shared, and the matrix-vector (m == 1) path accumulates in the float32 path's
/// order. So any difference is a bug (a misread element, a wrong edge, a stale panel).
/// </summary>
[Collection(KernelSwitchCollection.Name)]
public class FrozenWeightGemmTests
{
    static readonly (bool TransA, bool TransB)[] Layouts = [(false, false), (false, true), (true, false), (true, true)];
    static readonly WeightDtype[] HalfTypes = [WeightDtype.BF16, WeightDtype.F16];

    public static TheoryData<int, int, int> Shapes()
    {
        var data = new TheoryData<int, int, int>();
        foreach (int m in new[] { 1, 5, 13, 100 })
            foreach (int n in new[] { 1, 7, 33, 65, 300 })
                foreach (int k in new[] { 1, 9, 64, 100 })
                    data.Add(m, n, k);
        data.Add(40, 50, 800);     // K over one KC block
        data.Add(3, 2100, 70);     // N over one NC panel
        data.Add(13, 4500, 20);    // columns split across threads
        data.Add(1, 1000, 800);    // gemv, dot and axpy forms, parallel
        data.Add(1000, 1, 800);    // n == 1: B is a column
        data.Add(200, 500, 300);   // several row chunks share packed slabs
        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BitwiseEqualToFloat32OnWidenedWeights_AllLayouts_BothKernels(int m, int n, int k)
    {
        foreach (var dtype in HalfTypes)
            foreach (var (ta, tb) in Layouts)
                foreach (bool force256 in BothKernels())
                    Check(dtype, ta, tb, m, n, k, alpha: 1f, beta: 0f, pad: 0, force256, seed: m * 7919 + n * 31 + k);
    }

    [Theory]
    [InlineData(2f, 0f, 0)]
    [InlineData(1f, 1f, 3)]
    [InlineData(-0.5f, 0.25f, 5)]
    [InlineData(0f, 3f, 0)]
    public void AlphaBetaAndPaddedLeadingDimensions(float alpha, float beta, int pad)
    {
        foreach (var dtype in HalfTypes)
            foreach (var (ta, tb) in Layouts)
                foreach (bool force256 in BothKernels())
                {
                    Check(dtype, ta, tb, 37, 53, 29, alpha, beta, pad, force256, seed: 11);
                    Check(dtype, ta, tb, 1, 300, 200, alpha, beta, pad, force256, seed: 13);
                    Check(dtype, ta, tb, 300, 1, 200, alpha, beta, pad, force256, seed: 14);
                }
    }

    [Fact]
    public void NoAllocationPerCallAfterWarmUp()
    {
        var rng = new Random(5);
        foreach (var dtype in HalfTypes)
            foreach (var (m, n, k) in new[] { (64, 700, 300), (1, 700, 300), (300, 1, 200) })
                foreach (bool tb in new[] { false, true })
                {
                    var a = RandomFloats(rng, m * k);
                    var b = Narrow(dtype, RandomFloats(rng, n * k));
                    var c = new float[m * n];
                    void Run() => Sgemm.MultiplyHalfB(false, tb, m, n, k, a, k, b, dtype, tb ? k : n, c, n);
                    Run(); Run();
                    Assert.Equal(0, AllocationProbe.LeastBytesPerWindow(Run));
                }
    }

    [Fact]
    public void ArgumentsAreChecked()
    {
        var a = new float[6]; var c = new float[6]; var b = new ushort[5];
        Assert.Contains("B holds 5", Assert.ThrowsAny<ArgumentException>(() => Sgemm.MultiplyHalfB(false, false, 2, 3, 2, a, 2, b, WeightDtype.BF16, 3, c, 3)).Message);
        Assert.Contains("BF16 or F16", Assert.ThrowsAny<ArgumentException>(() => Sgemm.MultiplyHalfB(false, false, 2, 3, 2, a, 2, new ushort[6], WeightDtype.F32, 3, c, 3)).Message);
    }

    static IEnumerable<bool> BothKernels()
    {
        yield return false;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) yield return true;
    }

    /// <summary>One product from random data, 16-bit B vs float32 B holding the same values; C's padding must stay untouched.</summary>
    static void Check(WeightDtype dtype, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad, bool force256, int seed)
    {
        var rng = new Random(seed);
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        var a = RandomFloats(rng, Math.Max(0, ((transA ? k : m) - 1) * lda + (transA ? m : k)));
        int bRows = transB ? n : k;
        var bBits = Narrow(dtype, RandomFloats(rng, Math.Max(0, (bRows - 1) * ldb + (transB ? k : n))));
        // B's padding holds NaN bits: a read of it would poison C.
        ushort nan = dtype == WeightDtype.BF16 ? (ushort)0x7FC0 : (ushort)0x7E00;
        for (int r = 0; r < bRows; r++)
            for (int j = transB ? k : n; j < ldb && r * ldb + j < bBits.Length; j++) bBits[r * ldb + j] = nan;
        var bWide = new float[bBits.Length];
        HalfFloat.Widen(dtype, bBits, bWide);
        var c0 = RandomFloats(rng, Math.Max(0, (m - 1) * ldc + n));
        if (beta == 0f) Array.Fill(c0, float.NaN);
        var cHalf = (float[])c0.Clone();
        var cWide = (float[])c0.Clone();

        bool saved = Sgemm.ForceVector256;
        Sgemm.ForceVector256 = force256;
        try
        {
            Sgemm.MultiplyHalfB(transA, transB, m, n, k, a, lda, bBits, dtype, ldb, cHalf, ldc, alpha, beta);
            Sgemm.Multiply(transA, transB, m, n, k, a, lda, bWide, ldb, cWide, ldc, alpha, beta);
        }
        finally { Sgemm.ForceVector256 = saved; }

        string what = $"{dtype} {(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} {m}x{n}x{k} alpha={alpha} beta={beta} pad={pad} v256={force256}";
        for (int i = 0; i < cHalf.Length; i++)
            if (BitConverter.SingleToUInt32Bits(cHalf[i]) != BitConverter.SingleToUInt32Bits(cWide[i]))
                Assert.Fail($"{what}: C[{i / ldc},{i % ldc}] = {cHalf[i]:R} from 16-bit B, {cWide[i]:R} from the widened float32 B");
        Assert.DoesNotContain(cHalf.Where((_, i) => i % ldc < n), float.IsNaN);
    }

    internal static float[] RandomFloats(Random rng, int length)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }

    internal static ushort[] Narrow(WeightDtype dtype, float[] values)
    {
        var bits = new ushort[values.Length];
        HalfFloat.Narrow(dtype, values, bits);
        return bits;
    }
}
