using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Bench;

/// <summary>
/// Measures the machine's fp32 FMA peak: every pool thread runs independent FMA chains on the widest
/// vectors the CPU accelerates, so the figure is what this process can reach, not a datasheet number.
/// </summary>
public static class PeakFlops
{
    sealed class Job(long iterations) : IParallelJob
    {
        public double Sink;
        public void Execute(int index) => Sink += Vector512.IsHardwareAccelerated ? Run512(iterations) : Run256(iterations);
    }

    /// <summary>GFLOP/s over all threads (best of three runs).</summary>
    public static double Measure()
    {
        long iterations = 4_000_000;
        double best = 0;
        for (int rep = 0; rep < 3; rep++)
        {
            var job = new Job(iterations);
            var sw = Stopwatch.StartNew();
            WorkerPool.Run(job, WorkerPool.ThreadCount);
            double seconds = sw.Elapsed.TotalSeconds;
            int lanes = Vector512.IsHardwareAccelerated ? 16 : 8;
            double flops = 2.0 * 12 * lanes * iterations * WorkerPool.ThreadCount;
            best = Math.Max(best, flops / seconds / 1e9);
        }
        return best;
    }

    // 12 independent accumulators hide the FMA latency (4 cycles × 2 pipes + slack).
    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Run256(long n)
    {
        var a = Vector256.Create(1.0001f); var b = Vector256.Create(0.9999f);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < n; i++)
        {
            c0 = Vector256.FusedMultiplyAdd(a, b, c0); c1 = Vector256.FusedMultiplyAdd(a, b, c1); c2 = Vector256.FusedMultiplyAdd(a, b, c2);
            c3 = Vector256.FusedMultiplyAdd(a, b, c3); c4 = Vector256.FusedMultiplyAdd(a, b, c4); c5 = Vector256.FusedMultiplyAdd(a, b, c5);
            c6 = Vector256.FusedMultiplyAdd(a, b, c6); c7 = Vector256.FusedMultiplyAdd(a, b, c7); c8 = Vector256.FusedMultiplyAdd(a, b, c8);
            c9 = Vector256.FusedMultiplyAdd(a, b, c9); c10 = Vector256.FusedMultiplyAdd(a, b, c10); c11 = Vector256.FusedMultiplyAdd(a, b, c11);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Run512(long n)
    {
        var a = Vector512.Create(1.0001f); var b = Vector512.Create(0.9999f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default,
            c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < n; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(a, b, c0); c1 = Vector512.FusedMultiplyAdd(a, b, c1); c2 = Vector512.FusedMultiplyAdd(a, b, c2);
            c3 = Vector512.FusedMultiplyAdd(a, b, c3); c4 = Vector512.FusedMultiplyAdd(a, b, c4); c5 = Vector512.FusedMultiplyAdd(a, b, c5);
            c6 = Vector512.FusedMultiplyAdd(a, b, c6); c7 = Vector512.FusedMultiplyAdd(a, b, c7); c8 = Vector512.FusedMultiplyAdd(a, b, c8);
            c9 = Vector512.FusedMultiplyAdd(a, b, c9); c10 = Vector512.FusedMultiplyAdd(a, b, c10); c11 = Vector512.FusedMultiplyAdd(a, b, c11);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
