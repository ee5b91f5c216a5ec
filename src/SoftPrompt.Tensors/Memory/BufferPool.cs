namespace SoftPrompt.Tensors.Memory;

/// <summary>
/// Float buffers reused across steps, keyed by exact length: a training step asks for the same
/// sizes every time, so after the first step every request is served from the pool. Buffers are
/// pinned (allocated on the pinned object heap) so kernels can take pointers without pinning.
/// </summary>
public static class BufferPool
{
    static readonly Dictionary<int, Stack<float[]>> Free = new();
    static readonly object Gate = new();
    static long _pooledBytes;

    /// <summary>Bytes currently held by the pool (not in use).</summary>
    public static long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>Number of buffers freshly allocated since start (misses), by every thread.</summary>
    public static long Allocations;

    /// <summary>Misses of the calling thread's requests: what one training loop asks for, whatever other threads do meanwhile.</summary>
    public static long AllocationsOnThisThread => t_allocations;

    [ThreadStatic] static long t_allocations;

    public static float[] Rent(int length)
    {
        lock (Gate)
        {
            if (Free.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                _pooledBytes -= 4L * length;
                return stack.Pop();
            }
        }
        Interlocked.Increment(ref Allocations);
        t_allocations++;
        return GC.AllocateUninitializedArray<float>(length, pinned: true);
    }

    public static void Return(float[] buffer)
    {
        lock (Gate)
        {
            if (!Free.TryGetValue(buffer.Length, out var stack)) Free[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
            _pooledBytes += 4L * buffer.Length;
        }
    }

    /// <summary>Releases every pooled buffer to the garbage collector.</summary>
    public static void Trim()
    {
        lock (Gate) { Free.Clear(); _pooledBytes = 0; }
    }
}
