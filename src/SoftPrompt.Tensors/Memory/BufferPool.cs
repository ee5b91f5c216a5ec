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
        long.TryParse(Environment.GetEnvironmentVariable("SOFTPROMPT_POOL_MAX_BYTES"), out long v) && v >= 0 ? v : DefaultMaxBytes());

    /// <summary>8 GiB, or a quarter of the memory the process may use if that is less (6 GiB on a 24 GiB machine): what is pooled comes on top of what is in use.</summary>
    static long DefaultMaxBytes() => Math.Min(8L << 30, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4);

    /// <summary>Bytes currently held by the pool (not in use).</summary>
    public static long PooledBytes => Free.Bytes;

    /// <summary>The most bytes the pool keeps (buffers in use are not counted): 8 GiB or a quarter of the available memory, or SOFTPROMPT_POOL_MAX_BYTES.</summary>
    public static long MaxPooledBytes { get => Free.MaxBytes; set => Free.MaxBytes = value; }

    /// <summary>Number of buffers freshly allocated since start (misses), by every thread.</summary>
    public static long Allocations;

    /// <summary>Misses of the calling thread's requests: what one training loop asks for, whatever other threads do meanwhile.</summary>
    public static long AllocationsOnThisThread => t_allocations;

    [ThreadStatic] static long t_allocations;

    /// <summary>
    /// A buffer of at least <paramref name="length"/> floats: lengths are rounded up to size classes a quarter of a
    /// power of two apart (at most 25 % unused), so the shapes of a decoding batch whose row count and cache length
    /// change every step are served by a few kept buffers instead of a fresh pinned array each — which only a full
    /// (gen 2) collection takes back.
    /// </summary>
    public static float[] Rent(int length)
    {
        int size = SizeClass(length);
        if (Free.Take(size) is { } buffer) return buffer;
        Interlocked.Increment(ref Allocations);
        t_allocations++;
        return GC.AllocateUninitializedArray<float>(size, pinned: true);
    }

    /// <summary>The length a request of <paramref name="length"/> floats is served with: 64 or more, a multiple of a quarter of the power of two below it.</summary>
    public static int SizeClass(int length)
    {
        if (length <= 64) return 64;
        int top = 1 << (31 - int.LeadingZeroCount(length));   // the power of two at or below length
        int step = top >> 2;
        long size = ((long)length + step - 1) / step * step;
        return (int)Math.Min(size, Array.MaxLength);
    }

    public static void Return(float[] buffer) => Free.Keep(buffer);

    /// <summary>Releases every pooled buffer to the garbage collector.</summary>
    public static void Trim() => Free.Clear();
}
