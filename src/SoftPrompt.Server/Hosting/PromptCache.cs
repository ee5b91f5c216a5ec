namespace SoftPrompt.Server.Hosting;

/// <summary>
/// Tasks' served prompts by task id, bounded in bytes (keys and values of their shared starts plus adapter weights);
/// the least recently used leave first. The newest entry always stays, even alone over the bound. Thread-safe: the
/// scheduler fills it, a deleted task is forgotten from a request's thread, /metrics reads its counters.
/// </summary>
internal sealed class PromptCache(long capacityBytes)
{
    readonly Dictionary<string, LinkedListNode<(string Id, ServedPrompt Prompt)>> _byId = [];
    readonly LinkedList<(string Id, ServedPrompt Prompt)> _lru = new();
    long _bytes, _hits, _misses, _evictions;

    public long CapacityBytes => capacityBytes;
    public long Bytes { get { lock (_lru) return _bytes; } }
    public int Count { get { lock (_lru) return _lru.Count; } }
    public long Hits => Interlocked.Read(ref _hits);
    public long Misses => Interlocked.Read(ref _misses);
    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>The task's prompt, or the one <paramref name="make"/> builds (counted as a miss) and keeps.</summary>
    public ServedPrompt GetOrAdd(string taskId, Func<ServedPrompt> make)
    {
        lock (_lru)
            if (_byId.TryGetValue(taskId, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                Interlocked.Increment(ref _hits);
                return node.Value.Prompt;
            }
        Interlocked.Increment(ref _misses);
        var prompt = make();
        lock (_lru)
        {
            if (_byId.Remove(taskId, out var stale)) { _lru.Remove(stale); _bytes -= stale.Value.Prompt.Bytes; }
            _byId[taskId] = _lru.AddFirst((taskId, prompt));
            _bytes += prompt.Bytes;
            while (_bytes > capacityBytes && _lru.Count > 1)
            {
                var last = _lru.Last!;
                _lru.RemoveLast();
                _byId.Remove(last.Value.Id);
                _bytes -= last.Value.Prompt.Bytes;
                Interlocked.Increment(ref _evictions);
            }
        }
        return prompt;
    }

    public void Forget(string taskId)
    {
        lock (_lru)
            if (_byId.Remove(taskId, out var node)) { _lru.Remove(node); _bytes -= node.Value.Prompt.Bytes; }
    }
}
