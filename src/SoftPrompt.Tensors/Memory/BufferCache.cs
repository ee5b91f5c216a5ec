namespace SoftPrompt.Tensors.Memory;

/// <summary>
/// Free float buffers by exact length, at most <see cref="MaxBytes"/> of them: past the bound, the lengths least
/// recently used leave first (never the one just returned), and a buffer larger than the bound is not kept. What
/// <see cref="BufferPool"/> is made of. Thread-safe.
/// </summary>
public sealed class BufferCache(long maxBytes)
{
    readonly Dictionary<int, (Stack<float[]> Buffers, LinkedListNode<int> Use)> _free = new();
    readonly LinkedList<int> _byUse = new();   // lengths, most recently used first
    readonly object _gate = new();
    long _bytes;

    public long MaxBytes { get; set; } = maxBytes;

    /// <summary>Bytes held (not in use).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>A kept buffer of exactly this length, or null.</summary>
    public float[]? Take(int length)
    {
        lock (_gate)
        {
            if (!_free.TryGetValue(length, out var entry) || entry.Buffers.Count == 0) return null;
            _bytes -= 4L * length;
            Touch(entry.Use);
            return entry.Buffers.Pop();
        }
    }

    public void Keep(float[] buffer)
    {
        long bytes = 4L * buffer.Length;
        lock (_gate)
        {
            if (bytes > MaxBytes) return;   // larger than the whole cache: the collector takes it
            if (!_free.TryGetValue(buffer.Length, out var entry)) _free[buffer.Length] = entry = (new Stack<float[]>(), _byUse.AddFirst(buffer.Length));
            else Touch(entry.Use);
            entry.Buffers.Push(buffer);
            _bytes += bytes;
            while (_bytes > MaxBytes && _byUse.Last is { } oldest && oldest.Value != buffer.Length)
            {
                _bytes -= 4L * oldest.Value * _free[oldest.Value].Buffers.Count;
                _free.Remove(oldest.Value);
                _byUse.RemoveLast();
            }
        }
    }

    public void Clear()
    {
        lock (_gate) { _free.Clear(); _byUse.Clear(); _bytes = 0; }
    }

    void Touch(LinkedListNode<int> use)
    {
        if (use.Previous is null) return;
        _byUse.Remove(use);
        _byUse.AddFirst(use);
    }
}
