using System.Numerics.Tensors;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// Sgemm against a naive double-precision reference: every layout, awkward sizes (edges of the
/// 6×16 / 12×32 tiles, more than one KC block of K and NC panel of N), alpha/beta, padded
/// leading dimensions, batches, both micro-kernels, and argument checks.
/// </summary>
[Collection(KernelSwitchCollection.Name)]   // flips Sgemm.ForceVector256, a process-wide switch: a parallel flip between two products broke a bitwise comparison
public class GemmTests
{
    static readonly (bool TransA, bool TransB)[] Layouts = [(false, false), (false, true), (true, false), (true, true)];

    public static TheoryData<int, int, int> SmallShapes()
    {
        int[] sizes = [1, 7, 63, 65, 100];
        var data = new TheoryData<int, int, int>();
        foreach (int m in sizes) foreach (int n in sizes) foreach (int k in sizes) data.Add(m, n, k);
        return data;
    }

    [Theory]
    [MemberData(nameof(SmallShapes))]
    public void SmallShapesMatchReference_AllLayouts_BothKernels(int m, int n, int k)
    {
        foreach (var (ta, tb) in Layouts)
            foreach (bool force256 in BothKernels())
                Check(ta, tb, m, n, k, alpha: 1f, beta: 0f, pad: 0, force256, seed: m * 10007 + n * 101 + k);
    }

    [Theory]
    [InlineData(19, 31, 64)]      // attention scores of one head (setup 4: 19 queries, 12 + 19 keys, head size 64)
    [InlineData(19, 64, 31)]      // probabilities · values
    [InlineData(31, 64, 19)]      // dK, dV: transposed probabilities · queries or output gradients
    [InlineData(19, 12, 64)]      // the 12 prefix keys
    public void AttentionHeadShapes_MatchReference_AllLayouts_AlphaBetaPadding_BothKernels(int m, int n, int k)
    {
        foreach (var (ta, tb) in Layouts)
            foreach (var (alpha, beta) in new[] { (1f, 0f), (0.125f, 1f), (-0.5f, 0.25f) })
                foreach (int pad in new[] { 0, 3 })
                    foreach (bool force256 in BothKernels())
                        Check(ta, tb, m, n, k, alpha, beta, pad, force256, seed: m * 7919 + n * 31 + k + pad);
    }

    [Theory]
    [InlineData(1000, 7, 65)]     // many row panels, few columns
    [InlineData(7, 1000, 63)]     // skinny M: the parallel split goes over columns
    [InlineData(65, 40, 1000)]    // K over one KC block: later blocks accumulate with beta = 1
    [InlineData(2, 2100, 70)]     // N over one NC panel, single-threaded (few flops)
    [InlineData(13, 4500, 20)]    // N over one NC panel per thread, columns split across threads
    [InlineData(1, 1000, 800)]    // a row vector times a matrix
    [InlineData(1000, 1, 800)]
    [InlineData(148, 148, 64)]    // attention-like
    [InlineData(500, 200, 300)]   // few column panels: threads split rows and share packed B slabs
    public void MediumShapesMatchReference_AllLayouts(int m, int n, int k)
    {
        foreach (var (ta, tb) in Layouts)
            foreach (bool force256 in BothKernels())
                Check(ta, tb, m, n, k, alpha: 1f, beta: 0f, pad: 0, force256, seed: 7);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void LargeShapeMatchesReference(bool transA, bool transB)
    {
        foreach (bool force256 in BothKernels())
            Check(transA, transB, 300, 1000, 777, alpha: 1f, beta: 0f, pad: 0, force256, seed: 3, sampleRows: true);
    }

    [Theory]
    [InlineData(2f, 0f)]
    [InlineData(1f, 1f)]
    [InlineData(-0.5f, 0.25f)]
    [InlineData(0f, 3f)]          // alpha == 0: C = beta*C, A and B unused
    [InlineData(1.5f, -1f)]
    public void AlphaBeta_AllLayouts(float alpha, float beta)
    {
        foreach (var (ta, tb) in Layouts)
            foreach (bool force256 in BothKernels())
            {
                Check(ta, tb, 37, 53, 29, alpha, beta, pad: 0, force256, seed: 11);
                Check(ta, tb, 40, 50, 800, alpha, beta, pad: 0, force256, seed: 12);
                Check(ta, tb, 1, 300, 200, alpha, beta, pad: 0, force256, seed: 13);
                Check(ta, tb, 300, 1, 200, alpha, beta, pad: 0, force256, seed: 14);
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(33)]
    public void PaddedLeadingDimensions_AllLayouts(int pad)
    {
        foreach (var (ta, tb) in Layouts)
            foreach (bool force256 in BothKernels())
            {
                Check(ta, tb, 65, 63, 100, 1f, 0f, pad, force256, seed: 21);
                Check(ta, tb, 19, 34, 7, 0.5f, 2f, pad, force256, seed: 22);
                // Matrix-vector path: strided x (A^T or B column) and strided y (C column).
                Check(ta, tb, 1, 70, 33, 0.5f, 2f, pad, force256, seed: 23);
                Check(ta, tb, 70, 1, 33, 0.5f, 2f, pad, force256, seed: 24);
            }
    }

    [Fact]
    public void ZeroK_ScalesC()
    {
        float[] c = [1, 2, 3, 4, 5, 6];
        Sgemm.Multiply(false, false, 2, 3, 0, [], 0, [], 3, c, 3, alpha: 1f, beta: 2f);
        Assert.Equal([2, 4, 6, 8, 10, 12], c);
        float[] nan = [float.NaN, float.NaN];
        Sgemm.Multiply(false, false, 1, 2, 0, [], 0, [], 2, nan, 2);
        Assert.Equal([0f, 0f], nan);
    }

    [Fact]
    public void EmptyOutput_IsANoOp()
    {
        Sgemm.Multiply(false, false, 0, 5, 3, [], 3, new float[15], 5, [], 5);
        Sgemm.Multiply(true, true, 4, 0, 3, new float[12], 4, [], 3, [], 0);
    }

    [Theory]
    [InlineData(false, true, 148, 148, 64, 6)]    // scores = Q·K^T per head
    [InlineData(false, false, 148, 64, 148, 6)]   // out = P·V per head
    [InlineData(true, false, 33, 17, 9, 7)]
    [InlineData(true, true, 200, 150, 100, 3)]    // few big products: each one parallel inside
    public void Batched_MatchesPerProductReference(bool transA, bool transB, int m, int n, int k, int batch)
    {
        foreach (bool force256 in BothKernels())
            CheckBatched(transA, transB, m, n, k, batch, shareB: false, force256, seed: batch);
        CheckBatched(transA, transB, m, n, k, batch, shareB: true, force256: false, seed: batch + 1);
    }

    [Fact]
    public void AfterWarmUp_CallsDoNotAllocate()
    {
        var rng = new Random(5);
        var a = RandomArray(rng, 300 * 200);
        var b = RandomArray(rng, 200 * 250);
        var c = new float[300 * 250];
        var batchA = RandomArray(rng, 8 * 40 * 30);
        var batchB = RandomArray(rng, 8 * 30 * 20);
        var batchC = new float[8 * 40 * 20];
        void Calls()
        {
            Sgemm.Multiply(false, true, 300, 250, 200, a, 200, b, 200, c, 250);        // parallel, packed
            Sgemm.Multiply(true, false, 20, 30, 40, a, 20, b, 30, c, 30);              // serial, packed
            Sgemm.Multiply(false, false, 1, 250, 200, a, 200, b, 250, c, 250);         // matrix-vector
            Sgemm.MultiplyBatched(false, false, 40, 20, 30, batchA, 30, 40 * 30, batchB, 20, 30 * 20,
                batchC, 20, 40 * 20, 8);
        }
        Calls();
        Assert.Equal(0, AllocationProbe.LeastBytesPerWindow(Calls));
    }

    [Fact]
    public void ConcurrentCallersGetTheSameBitsAsOneCaller()
    {
        // Every C tile is summed in the same order however the work is split, so results are
        // bitwise reproducible; two threads calling at once must not share scratch buffers.
        var rng = new Random(6);
        const int m = 130, n = 520, k = 300;
        var a = RandomArray(rng, m * k);
        var b = RandomArray(rng, k * n);
        var expected = new float[m * n];
        Sgemm.Multiply(false, false, m, n, k, a, k, b, n, expected, n);
        var failures = new int[2];
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            var c = new float[m * n];
            for (int i = 0; i < 20; i++)
            {
                Sgemm.Multiply(false, false, m, n, k, a, k, b, n, c, n);
                if (!c.AsSpan().SequenceEqual(expected)) failures[t]++;
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Equal([0, 0], failures);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        // A: [2,3], B: [3,2], C: [2,2]
        Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b, 2, c, 2);
        AssertThrows("negative", () => Sgemm.Multiply(false, false, -1, 2, 3, a, 3, b, 2, c, 2));
        AssertThrows("negative", () => Sgemm.Multiply(false, false, 2, 2, -3, a, 3, b, 2, c, 2));
        AssertThrows("lda (2)", () => Sgemm.Multiply(false, false, 2, 2, 3, a, 2, b, 2, c, 2));
        AssertThrows("ldb (1)", () => Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b, 1, c, 2));
        AssertThrows("ldc (1)", () => Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b, 2, c, 1));
        AssertThrows("A holds 5", () => Sgemm.Multiply(false, false, 2, 2, 3, a.AsSpan(0, 5), 3, b, 2, c, 2));
        AssertThrows("B holds 5", () => Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b.AsSpan(0, 5), 2, c, 2));
        AssertThrows("C holds 3", () => Sgemm.Multiply(false, false, 2, 2, 3, a, 3, b, 2, c.AsSpan(0, 3), 2));
        // Transposed A is stored [k,m] = [3,2]: lda 3 is fine for length 6? rows 3, cols 2 -> needs (3-1)*3+2 = 8.
        AssertThrows("A holds 6", () => Sgemm.Multiply(true, false, 2, 2, 3, a, 3, b, 2, c, 2));

        var cb = new float[8];
        Sgemm.MultiplyBatched(false, false, 2, 2, 3, new float[12], 3, 6, b, 2, 0, cb, 2, 4, 2);
        AssertThrows("batch", () => Sgemm.MultiplyBatched(false, false, 2, 2, 3, a, 3, 6, b, 2, 0, cb, 2, 4, -1));
        AssertThrows("2 matrices", () => Sgemm.MultiplyBatched(false, false, 2, 2, 3, a, 3, 6, b, 2, 0, cb, 2, 4, 2));
        AssertThrows("overlap", () => Sgemm.MultiplyBatched(false, false, 2, 2, 3, new float[12], 3, 6, b, 2, 0, cb, 2, 2, 2));
        AssertThrows("strideB", () => Sgemm.MultiplyBatched(false, false, 2, 2, 3, new float[12], 3, 6, b, 2, -1, cb, 2, 4, 2));
    }

    static void AssertThrows(string messagePart, Action action)
    {
        var e = Assert.ThrowsAny<ArgumentException>(action);
        Assert.Contains(messagePart, e.Message);
    }

    static IEnumerable<bool> BothKernels()
    {
        yield return false;
        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) yield return true;
    }

    /// <summary>Runs one product with random data (NaN in all padding and, for beta == 0, in C) and compares.</summary>
    static void Check(bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad, bool force256, int seed,
        bool sampleRows = false)
    {
        var rng = new Random(seed);
        var (a, lda) = RandomMatrix(rng, transA ? k : m, transA ? m : k, pad);
        var (b, ldb) = RandomMatrix(rng, transB ? n : k, transB ? k : n, pad);
        var (c, ldc) = RandomMatrix(rng, m, n, pad);
        if (beta == 0f) Array.Fill(c, float.NaN);
        float[] c0 = (float[])c.Clone();

        bool saved = Sgemm.ForceVector256;
        Sgemm.ForceVector256 = force256;
        try { Sgemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, alpha, beta); }
        finally { Sgemm.ForceVector256 = saved; }

        Compare($"{(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} {m}x{n}x{k} a={alpha} b={beta} pad={pad} v256={force256}",
            transA, transB, m, n, k, a, lda, b, ldb, c0, c, ldc, alpha, beta, sampleRows);
    }

    static void CheckBatched(bool transA, bool transB, int m, int n, int k, int batch, bool shareB, bool force256, int seed)
    {
        var rng = new Random(seed);
        int lda = (transA ? m : k) + 1, ldb = transB ? k : n, ldc = n + 2;
        long strideA = (long)(transA ? k : m) * lda + 3;
        long strideB = shareB ? 0 : (long)(transB ? n : k) * ldb;
        long strideC = (long)m * ldc + 5;
        var a = RandomArray(rng, (int)(strideA * batch));
        var b = RandomArray(rng, (int)(shareB ? (long)(transB ? n : k) * ldb : strideB * batch));
        var c = RandomArray(rng, (int)(strideC * batch));
        float[] c0 = (float[])c.Clone();
        const float alpha = 0.75f, beta = 0.5f;

        bool saved = Sgemm.ForceVector256;
        Sgemm.ForceVector256 = force256;
        try
        {
            Sgemm.MultiplyBatched(transA, transB, m, n, k, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, batch, alpha, beta);
        }
        finally { Sgemm.ForceVector256 = saved; }

        for (int i = 0; i < batch; i++)
        {
            var ai = a.AsSpan((int)(i * strideA)).ToArray();
            var bi = b.AsSpan((int)(i * strideB)).ToArray();
            var ci0 = c0.AsSpan((int)(i * strideC), (int)strideC).ToArray();
            var ci = c.AsSpan((int)(i * strideC), (int)strideC).ToArray();
            Compare($"batch item {i} of {batch} shareB={shareB} v256={force256}",
                transA, transB, m, n, k, ai, lda, bi, ldb, ci0, ci, ldc, alpha, beta);
        }
    }

    /// <summary>
    /// Checks every element against a double-precision product (op(A) and op(B)^T copied to
    /// double rows, then dot products) with tolerance 1e-5·sqrt(k)·(|alpha|·‖a_i‖·‖b_j‖ + |beta·c|)
    /// — Cauchy–Schwarz bounds Σ|a·b| — and checks that C's padding columns were left alone.
    /// With <paramref name="sampleRows"/> (big shapes, to keep the suite fast) only the first and
    /// last 25 rows and every 7th row between are checked: all tile-edge cases are among them.
    /// </summary>
    static void Compare(string what, bool transA, bool transB, int m, int n, int k,
        float[] a, int lda, float[] b, int ldb, float[] c0, float[] c, int ldc, float alpha, float beta,
        bool sampleRows = false)
    {
        var opA = new double[(long)m * k];
        var opBt = new double[(long)n * k];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) opA[i * k + p] = transA ? a[p * lda + i] : a[i * lda + p];
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) opBt[j * k + p] = transB ? b[j * ldb + p] : b[p * ldb + j];
        var normB = new double[n];
        for (int j = 0; j < n; j++) normB[j] = TensorPrimitives.Norm(opBt.AsSpan(j * k, k));

        double tol = 1e-5 * Math.Sqrt(Math.Max(k, 1));
        for (int i = 0; i < m; i++)
        {
            if (sampleRows && i >= 25 && i < m - 25 && i % 7 != 0) continue;
            var ai = opA.AsSpan(i * k, k);
            double normA = TensorPrimitives.Norm(ai);
            for (int j = 0; j < n; j++)
            {
                double expect = alpha * TensorPrimitives.Dot(ai, opBt.AsSpan(j * k, k));
                double scale = Math.Abs(alpha) * normA * normB[j];
                if (beta != 0f)
                {
                    expect += beta * (double)c0[i * ldc + j];
                    scale += Math.Abs(beta * (double)c0[i * ldc + j]);
                }
                double got = c[i * ldc + j];
                if (!(Math.Abs(got - expect) <= tol * scale + 1e-30))
                    Assert.Fail($"{what}: C[{i},{j}] = {got}, expected {expect} (tolerance {tol * scale:g3})");
            }
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                if (BitConverter.SingleToInt32Bits(c[i * ldc + j]) != BitConverter.SingleToInt32Bits(c0[i * ldc + j]))
                    Assert.Fail($"{what}: padding C[{i},{j}] was written");
        }
    }

    /// <summary>A [rows, cols] matrix with row stride cols + pad; the padding holds NaN so any read of it shows.</summary>
    static (float[] Data, int Ld) RandomMatrix(Random rng, int rows, int cols, int pad)
    {
        int ld = cols + pad;
        var data = new float[Math.Max(0, (rows - 1) * ld + cols)];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < ld && r * ld + j < data.Length; j++)
                data[r * ld + j] = j < cols ? (float)(rng.NextDouble() * 2 - 1) : float.NaN;
        return (data, ld);
    }

    static float[] RandomArray(Random rng, int length)
    {
        var data = new float[length];
        for (int i = 0; i < length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }
}
