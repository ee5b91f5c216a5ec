using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Bench;

/// <summary>
/// <c>gemm</c>: Sgemm vs OpenBLAS cblas_sgemm on the transformer's GEMM shapes, in GFLOP/s
/// (2·m·n·k per product), on the same buffers with the same thread count. Where the CPU has
/// AVX-512 each shape can be measured with both micro-kernels (rows "v512" and "v256"; the engine
/// uses v512 there; the v256 rows appear with --v256), against one OpenBLAS figure. Batched rows time the attention-like products
/// (many small ones in one call) against a loop of cblas_sgemm calls.
/// The dev machine is shared, so the implementations take turns: after warm-up, each round
/// measures every implementation (median of --reps samples of ≥ 50 ms), and a figure is the
/// best round's median: a burst of someone else's load then costs a round, not the comparison.
/// Options: --reps N (samples per round, default 3), --rounds N (default 3), --shape MxNxK (only
/// this shape, single and batched), --layout NN|NT|TN|TT (only this layout), --v256 / --v512
/// (only that kernel), --kc/--mc/--nc N (blocking overrides), --noref (skip OpenBLAS).
/// </summary>
static unsafe class GemmBench
{
    // GPT-2 small at 512 tokens: QKV/out projection, MLP up/down, LM head; and a square reference.
    static readonly (int M, int N, int K)[] Shapes =
    [
        (512, 768, 768), (512, 2304, 768), (512, 3072, 768), (512, 768, 3072), (512, 50257, 768), (1024, 1024, 1024),
    ];
    static readonly string[] Layouts = ["NN", "NT"];

    // Attention at T = 148, head size 64, 96 (batch × heads) products: scores Q·K^T, then P·V.
    static readonly (string Layout, int M, int N, int K, int Batch)[] BatchedShapes =
    [
        ("NT", 148, 148, 64, 96), ("NN", 148, 64, 148, 96),
    ];

    const double SampleSeconds = 0.05;   // a sample repeats calls until it lasts at least this long
    const double WarmupSeconds = 0.5;    // past the JIT's tier-up of the driver code
    const int IdleMillis = 250;          // lets the other library's spinning threads go to sleep

    public static IReadOnlyList<BenchRow> Run(BenchArgs args)
    {
        int reps = args.GetInt("reps", 3), rounds = args.GetInt("rounds", 3);
        bool reference = !args.Has("noref");
        // ForceVector256 settings to measure: by default the kernel the engine uses on this CPU;
        // --v256 adds the AVX2 kernel (compare it with OPENBLAS_CORETYPE=Haswell for like with like).
        var kernels = new List<bool>();
        if (Vector512.IsHardwareAccelerated && !args.Has("v256") || args.Has("v512")) kernels.Add(false);
        if (!Vector512.IsHardwareAccelerated || args.Has("v256")) kernels.Add(true);
        Sgemm.Wide = Override(Sgemm.Wide, args);
        Sgemm.Narrow = Override(Sgemm.Narrow, args);

        var shapes = Shapes.AsEnumerable();
        var batched = BatchedShapes.AsEnumerable();
        if (args.Get("shape") is { } shape)
        {
            int[] d = shape.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            shapes = [(d[0], d[1], d[2])];
            batched = batched.Where(x => x.M == d[0] && x.N == d[1] && x.K == d[2]);
        }
        var layouts = args.Get("layout") is { } l ? [l.ToUpperInvariant()] : Layouts;

        OpenBlas.SetThreads(WorkerPool.ThreadCount);
        Console.WriteLine($"threads {WorkerPool.ThreadCount}; reference: {OpenBlas.Description}");
        foreach (bool v256 in kernels)
        {
            var bl = v256 ? Sgemm.Narrow : Sgemm.Wide;
            Console.WriteLine($"{Label(v256)}: {bl.MR}x{bl.NR} micro-kernel, KC={bl.KC} MC={bl.MC} NC={bl.NC}");
        }

        var rows = new List<BenchRow>();
        try
        {
            foreach (var (m, n, k) in shapes)
                foreach (string layout in layouts)
                    rows.AddRange(Measure(layout, m, n, k, 1, kernels, reps, rounds, reference));
            foreach (var (layout, m, n, k, batch) in batched.Where(x => layouts.Contains(x.Layout)))
                rows.AddRange(Measure(layout, m, n, k, batch, kernels, reps, rounds, reference));
        }
        finally { Sgemm.ForceVector256 = false; }
        return rows;
    }

    static Sgemm.Blocking Override(Sgemm.Blocking bl, BenchArgs args) =>
        bl with { KC = args.GetInt("kc", bl.KC), MC = args.GetInt("mc", bl.MC), NC = args.GetInt("nc", bl.NC) };

    static string Label(bool v256) => v256 ? "v256" : "v512";

    /// <summary>
    /// One shape and layout: C[m,n] = op(A)[m,k] · op(B)[k,n], <paramref name="batch"/> times
    /// (contiguous matrices); a row per kernel, each with the same OpenBLAS figure.
    /// </summary>
    static List<BenchRow> Measure(string layout, int m, int n, int k, int batch, List<bool> kernels,
        int reps, int rounds, bool reference)
    {
        bool transA = layout[0] == 'T', transB = layout[1] == 'T';
        nint aLen = (nint)m * k, bLen = (nint)k * n, cLen = (nint)m * n;
        nint aAll = aLen * batch, bAll = bLen * batch, cAll = cLen * batch;
        float* a = Alloc(aAll), b = Alloc(bAll), c = Alloc(cAll), cRef = Alloc(cAll);
        try
        {
            var rng = new Random(1);
            for (nint i = 0; i < aAll; i++) a[i] = (float)(rng.NextDouble() - 0.5);
            for (nint i = 0; i < bAll; i++) b[i] = (float)(rng.NextDouble() - 0.5);
            int lda = transA ? m : k, ldb = transB ? k : n;
            double flops = 2.0 * m * n * k * batch;

            // Ours once per kernel, then OpenBLAS (which is followed by a pause, see IdleMillis).
            var calls = new List<Action>();
            foreach (bool v256 in kernels)
                calls.Add(() =>
                {
                    Sgemm.ForceVector256 = v256;
                    var sa = new ReadOnlySpan<float>(a, (int)aAll);
                    var sb = new ReadOnlySpan<float>(b, (int)bAll);
                    var sc = new Span<float>(c, (int)cAll);
                    if (batch == 1) Sgemm.Multiply(transA, transB, m, n, k, sa, lda, sb, ldb, sc, n);
                    else Sgemm.MultiplyBatched(transA, transB, m, n, k, sa, lda, aLen, sb, ldb, bLen, sc, n, cLen, batch);
                });
            bool withReference = reference && OpenBlas.Available;
            if (withReference)
                calls.Add(() =>
                {
                    for (int i = 0; i < batch; i++)
                        OpenBlas.Sgemm(transA, transB, m, n, k, 1f, a + i * aLen, lda, b + i * bLen, ldb, 0f, cRef + i * cLen, n);
                });

            var best = new double[calls.Count];
            for (int round = 0; round < rounds; round++)
            {
                for (int i = 0; i < calls.Count; i++)
                {
                    if (round == 0) WarmUp(calls[i]);
                    best[i] = Math.Max(best[i], Median(reps, flops, calls[i]));
                    if (withReference && i == calls.Count - 1) Thread.Sleep(IdleMillis);
                }
            }

            double? theirs = withReference ? best[^1] : null;
            if (withReference)
            {
                double err = MaxRelativeDifference(c, cRef, cAll);
                if (err > 1e-3) Console.WriteLine($"warning: {layout} {m}x{n}x{k} differs from OpenBLAS by {err:g3} (relative)");
            }
            string name = batch == 1 ? $"{layout} {m}x{n}x{k}" : $"{layout} {batch}x[{m}x{n}x{k}]";
            return kernels.Select((v256, i) => new BenchRow($"{name} {Label(v256)}", best[i], theirs, "GFLOP/s")).ToList();
        }
        finally
        {
            Sgemm.ForceVector256 = false;
            NativeMemory.AlignedFree(a); NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c); NativeMemory.AlignedFree(cRef);
        }
    }

    static void WarmUp(Action call)
    {
        var sw = Stopwatch.StartNew();
        do call(); while (sw.Elapsed.TotalSeconds < WarmupSeconds);
    }

    /// <summary>The median GFLOP/s of <paramref name="reps"/> samples, each repeating the call for at least SampleSeconds.</summary>
    static double Median(int reps, double flops, Action call)
    {
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
