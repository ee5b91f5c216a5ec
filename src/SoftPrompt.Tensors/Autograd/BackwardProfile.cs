using System.Diagnostics;

namespace SoftPrompt.Tensors.Autograd;

/// <summary>
/// Time spent in backward per node type, collected while a profile is active on this thread:
/// <code>using var p = BackwardProfile.Start(); loss.Backward(); Console.Write(p.Report());</code>
/// </summary>
public sealed class BackwardProfile : IDisposable
{
    [ThreadStatic] static BackwardProfile? _current;
    readonly Dictionary<string, (long Ticks, int Calls)> _byNode = new();

    internal static BackwardProfile? Current => _current;

    public static BackwardProfile Start() => _current = new BackwardProfile();

    internal void Add(string node, long ticks)
    {
        _byNode.TryGetValue(node, out var e);
        _byNode[node] = (e.Ticks + ticks, e.Calls + 1);
    }

    /// <summary>Seconds and calls per node type, largest first.</summary>
    public IReadOnlyList<(string Node, double Seconds, int Calls)> Entries =>
        _byNode.Select(kv => (kv.Key, kv.Value.Ticks / (double)Stopwatch.Frequency, kv.Value.Calls)).OrderByDescending(e => e.Item2).ToList();

    public string Report() => string.Join(Environment.NewLine, Entries.Select(e => $"{e.Node,-24} {e.Seconds,8:F3} s  {e.Calls,5} calls"));

    public void Dispose() { if (_current == this) _current = null; }
}
