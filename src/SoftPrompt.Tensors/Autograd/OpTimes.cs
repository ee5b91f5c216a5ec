using System.Diagnostics;

namespace SoftPrompt.Tensors.Autograd;

/// <summary>Stopwatch ticks and calls per op (node type): what <see cref="ForwardProfile"/> and <see cref="BackwardProfile"/> collect.</summary>
sealed class OpTimes
{
    readonly Dictionary<string, (long Ticks, int Calls)> _byOp = new();

    public void Add(string op, long ticks)
    {
        _byOp.TryGetValue(op, out var e);
        _byOp[op] = (e.Ticks + ticks, e.Calls + 1);
    }

    /// <summary>Seconds and calls per op, largest first.</summary>
    public IReadOnlyList<(string Node, double Seconds, int Calls)> Entries =>
        _byOp.Select(kv => (kv.Key, kv.Value.Ticks / (double)Stopwatch.Frequency, kv.Value.Calls)).OrderByDescending(e => e.Item2).ToList();
}
