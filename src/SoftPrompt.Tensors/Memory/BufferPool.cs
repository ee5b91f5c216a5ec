namespace SoftPrompt.Tensors.Memory;

/// <summary>
/// Float buffers reused across steps, keyed by exact length: a training step asks for the same
/// sizes every time, so after the first step every request is served from the pool. Buffers are
/// pinned (allocated on the pinned object heap) so kernels can take pointers without pinning.
/// The pool is bounded in bytes (<see cref="MaxPooledBytes"/>, a <see cref="BufferCache"/>): continuous
/// batching asks for a new set of sizes whenever its rows change, and an unbounded pool kept every one
/// of them (1.8 GB after a short 8-row run); past the bound the sizes least recently used leave first.
/// </summary>
public static class BufferPool
{
    static readonly BufferCache Free = new(
        long.TryParse(Environment.GetEnvironmentVariable("SOFTPROMPT_POOL_MAX_BYTES"), out long v) && v >= 0 ? v : 8L << 30);

    /// <summary>Bytes currently held by the pool (not in use).</summary>
    public static long PooledBytes => Free.Bytes;

    /// <summary>The most bytes the pool keeps (buffers in use are not counted): 8 GiB, or SOFTPROMPT_POOL_MAX_BYTES.</summary>
    public static long MaxPooledBytes { get => Free.MaxBytes; set => Free.MaxBytes = value; }

    /// <summary>Number of buffers freshly allocated since start (misses), by every thread.</summary>
    public static long Allocations;

    /// <summary>Misses of the calling thread's requests: what one training loop asks for, whatever other threads do meanwhile.</summary>
    public static long AllocationsOnThisThread => t_allocations;

    [ThreadStatic] static long t_allocations;

    public static float[] Rent(int length)
    {
        if (Free.Take(length) is { } buffer) return buffer;
        Interlocked.Increment(ref Allocations);
        t_allocations++;
        return GC.AllocateUninitializedArray<float>(length, pinned: true);
    }

    public static void Return(float[] buffer) => Free.Keep(buffer);

    /// <summary>Releases every pooled buffer to the garbage collector.</summary>
    public static void Trim() => Free.Clear();
}
