using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Bench;

/// <summary>
/// <c>gemm</c>: Sgemm.Multiply vs OpenBLAS cblas_sgemm on the transformer's GEMM shapes, in
/// GFLOP/s (2·m·n·k per call), median of several samples after warm-up, both on the same
/// buffers with the same thread count.
/// Options: --reps N (samples, default 7), --shape MxNxK (only this shape), --layout NN|NT|TN|TT
/// (only this layout), --v256 (force the Vector256 kernel), --kc/--mc/--nc N (blocking overrides).
/// </summary>
static unsafe class GemmBench
{
    // GPT-2 small at 512 tokens: QKV/out projection, MLP up/down, LM head; and a square reference.
    static readonly (int M, int N, int K)[] Shapes =
    [
        (512, 768, 768), (512, 2304, 768), (512, 3072, 768), (512, 768, 3072), (512, 50257, 768), (1024, 1024, 1024),
    ];
    static readonly string[] Layouts = ["NN", "NT"];

    const double SampleSeconds = 0.05;   // a sample repeats calls until it lasts at least this long
    const int IdleMillis = 250;          // lets the other library's spinning threads go to sleep

    public static IReadOnlyList<BenchRow> Run(BenchArgs args)
    {
        int reps = args.GetInt("reps", 7);
        if (args.Has("v256")) Sgemm.ForceVector256 = true;
        var bl = Sgemm.ForceVector256 || !Vector512.IsHardwareAccelerated ? Sgemm.Narrow : Sgemm.Wide;
        bl = bl with { KC = args.GetInt("kc", bl.KC), MC = args.GetInt("mc", bl.MC), NC = args.GetInt("nc", bl.NC) };
        if (bl.Wide) Sgemm.Wide = bl; else Sgemm.Narrow = bl;

        var shapes = Shapes.AsEnumerable();
        if (args.Get("shape") is { } shape)
        {
            int[] d = shape.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            shapes = [(d[0], d[1], d[2])];
        }
        var layouts = args.Get("layout") is { } l ? [l.ToUpperInvariant()] : Layouts;

        OpenBlas.SetThreads(WorkerPool.ThreadCount);
        Console.WriteLine($"threads {WorkerPool.ThreadCount}, kernel {(bl.Wide ? "Vector512" : "Vector256")} " +
            $"{bl.MR}x{bl.NR} KC={bl.KC} MC={bl.MC} NC={bl.NC}; reference: {OpenBlas.Description}");

        var rows = new List<BenchRow>();
        foreach (var (m, n, k) in shapes)
            foreach (string layout in layouts)
                rows.Add(Measure(m, n, k, layout[0] == 'T', layout[1] == 'T', reps));
        return rows;
    }

    static BenchRow Measure(int m, int n, int k, bool transA, bool transB, int reps)
    {
        nint aLen = (nint)m * k, bLen = (nint)k * n, cLen = (nint)m * n;
        float* a = Alloc(aLen), b = Alloc(bLen), c = Alloc(cLen), cRef = Alloc(cLen);
        try
        {
            var rng = new Random(1);
            for (nint i = 0; i < aLen; i++) a[i] = (float)(rng.NextDouble() - 0.5);
            for (nint i = 0; i < bLen; i++) b[i] = (float)(rng.NextDouble() - 0.5);
            int lda = transA ? m : k, ldb = transB ? k : n;
            double flops = 2.0 * m * n * k;

            double ours = Median(reps, flops, () => Sgemm.Multiply(transA, transB, m, n, k,
                new ReadOnlySpan<float>(a, (int)aLen), lda, new ReadOnlySpan<float>(b, (int)bLen), ldb,
                new Span<float>(c, (int)cLen), n));
            Thread.Sleep(IdleMillis);

            double? reference = null;
            if (OpenBlas.Available)
            {
                reference = Median(reps, flops, () => OpenBlas.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, 0f, cRef, n));
                Thread.Sleep(IdleMillis);
                double err = MaxRelativeDifference(c, cRef, cLen);
                if (err > 1e-3) Console.WriteLine($"warning: {m}x{n}x{k} differs from OpenBLAS by {err:g3} (relative)");
            }
            string name = $"{(transA ? 'T' : 'N')}{(transB ? 'T' : 'N')} {m}x{n}x{k}";
            return new BenchRow(name, ours, reference, "GFLOP/s");
        }
        finally
        {
            NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c); NativeMemory.AlignedFree(cRef);
        }
    }

    /// <summary>Warm-up, then the median GFLOP/s of <paramref name="reps"/> samples.</summary>
    static double Median(int reps, double flops, Action call)
    {
        call();
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < 2 * SampleSeconds) call();

        var samples = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            int calls = 0;
            long start = Stopwatch.GetTimestamp();
            double seconds;
            do { call(); calls++; }
            while ((seconds = Stopwatch.GetElapsedTime(start).TotalSeconds) < SampleSeconds);
            samples[r] = flops * calls / seconds / 1e9;
        }
        Array.Sort(samples);
        return samples[reps / 2];
    }

    static double MaxRelativeDifference(float* x, float* y, nint n)
    {
        double maxDiff = 0, maxAbs = 0;
        for (nint i = 0; i < n; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(x[i] - y[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(y[i]));
        }
        return maxDiff / Math.Max(maxAbs, 1e-30);
    }

    static float* Alloc(nint floats) => (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);
}
