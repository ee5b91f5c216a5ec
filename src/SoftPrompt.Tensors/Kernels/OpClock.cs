using System.Diagnostics;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// Opt-in wall-clock totals per kind of op, for benches that split a step into its parts (bench decode): while
/// <see cref="Enabled"/>, each timed op adds its time to its kind. Only the outermost timed op of a thread counts
/// (attention's small per-head products are attention, not matrix-vector time). Off, an op pays one static read.
/// </summary>
public static class OpClock
{
    public enum Kind { MatVec, Gemm, Attention, Norm, CacheWrite }

    static readonly long[] s_ticks = new long[Enum.GetValues<Kind>().Length];
    static readonly long[] s_calls = new long[Enum.GetValues<Kind>().Length];
    [ThreadStatic] static int t_depth;

    public static bool Enabled { get; set; }

    /// <summary>Starts timing an op of <paramref name="kind"/>; dispose the result when the op is done.</summary>
    public static Scope Time(Kind kind) => Enabled ? new Scope(kind, t_depth++ == 0 ? Stopwatch.GetTimestamp() : -1) : default;

    public readonly struct Scope(Kind kind, long start) : IDisposable
    {
        public void Dispose()
        {
            if (start == 0) return;    // the clock was off
            t_depth--;
            if (start < 0) return;     // nested in another timed op
            Interlocked.Add(ref s_ticks[(int)kind], Stopwatch.GetTimestamp() - start);
            Interlocked.Increment(ref s_calls[(int)kind]);
        }
    }

    public static double Milliseconds(Kind kind) => Volatile.Read(ref s_ticks[(int)kind]) * 1000.0 / Stopwatch.Frequency;

    public static long Calls(Kind kind) => Volatile.Read(ref s_calls[(int)kind]);

    public static void Reset()
    {
        for (int i = 0; i < s_ticks.Length; i++) { Interlocked.Exchange(ref s_ticks[i], 0); Interlocked.Exchange(ref s_calls[i], 0); }
    }
}
