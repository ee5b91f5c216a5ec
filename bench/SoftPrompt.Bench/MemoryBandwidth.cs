using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Bench;

/// <summary>
/// The machine's read bandwidth as this process sees it (a STREAM-like read): every pool thread sums its
/// own contiguous slice of a buffer far larger than the caches, on the widest vectors the CPU accelerates.
/// Decoding at batch 1 reads every weight once a token, so this is its ceiling, as PeakFlops is the GEMM's. The buffer
/// gets the 2 MiB pages the model's weights get (<see cref="HugePages"/>; 4 KiB ones with SOFTPROMPT_HUGEPAGES=0).
/// </summary>
public static unsafe class MemoryBandwidth
{
    sealed class Job(float* data, long floats, int tasks) : IParallelJob
    {
        public float Sink;
        public void Execute(int index)
        {
            long chunk = floats / tasks;
            float s = Sum(data + index * chunk, chunk);
            lock (this) Sink += s;
        }
    }

    /// <summary>
    /// A buffer of <c>mib</c> MiB kept for measuring again and again (GB/s, 1e9 bytes, read over all threads): the machine's bandwidth moves from minute to minute on a shared host
    /// (26 to 50 GB/s within ten minutes here), so a bench states its figures against a measure taken beside them.
    /// </summary>
    public sealed class Probe : IDisposable
    {
        readonly float* _data;
        readonly long _floats;

        public Probe(int mib = 1024)
        {
            _floats = (long)mib * 1024 * 1024 / 4;
            _data = (float*)NativeMemory.AlignedAlloc((nuint)(_floats * 4), (nuint)HugePages.PageBytes);
            new Span<float>(_data, (int)Math.Min(_floats, int.MaxValue)).Fill(1f);   // touch every page first
            if (_floats > int.MaxValue) new Span<float>(_data + int.MaxValue, (int)(_floats - int.MaxValue)).Fill(1f);
            HugePages.Advise((nint)_data, _floats * 4);
        }

        /// <summary>GB/s, best of <paramref name="reps"/> passes after one warm-up pass.</summary>
        public double Measure(int reps = 5)
        {
            // One task per thread: each streams one contiguous slice, as a matrix-vector product's row bands do.
            var job = new Job(_data, _floats, WorkerPool.ThreadCount);
            double best = 0;
            for (int rep = 0; rep < reps + 1; rep++)
            {
                var sw = Stopwatch.StartNew();
                WorkerPool.Run(job, WorkerPool.ThreadCount);
                double seconds = sw.Elapsed.TotalSeconds;
                if (rep > 0) best = Math.Max(best, _floats * 4 / seconds / 1e9);
            }
            GC.KeepAlive(job.Sink);
            return best;
        }

        public void Dispose() => NativeMemory.AlignedFree(_data);
    }

    // Four independent accumulators, so the adds never wait on each other: only the loads limit it.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Sum(float* p, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= n; i += 64)
            {
                a0 += Vector512.Load(p + i); a1 += Vector512.Load(p + i + 16);
                a2 += Vector512.Load(p + i + 32); a3 += Vector512.Load(p + i + 48);
            }
            return Vector512.Sum(a0 + a1 + a2 + a3);
        }
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (; i + 32 <= n; i += 32)
        {
            b0 += Vector256.Load(p + i); b1 += Vector256.Load(p + i + 8);
            b2 += Vector256.Load(p + i + 16); b3 += Vector256.Load(p + i + 24);
        }
        return Vector256.Sum(b0 + b1 + b2 + b3);
    }
}
