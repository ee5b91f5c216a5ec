using System.Diagnostics;

namespace SoftPrompt.Tensors.Autograd;

/// <summary>
/// Forward time per op, collected while a profile is active on this thread: each recorded node is charged the time since
/// the previous record (or since <see cref="Resume"/>), which is its op's forward when ops run back to back — an op that
/// records nothing (no input needs grad) is charged to the next one that does. The forward counterpart of
/// <see cref="BackwardProfile"/>: <code>using var p = ForwardProfile.Start(); p.Resume(); var loss = model.Loss(batch);</code>
/// </summary>
public sealed class ForwardProfile : IDisposable
{
    [ThreadStatic] static ForwardProfile? _current;
    readonly OpTimes _times = new();
    long _last = Stopwatch.GetTimestamp();

    internal static ForwardProfile? Current => _current;

    public static ForwardProfile Start() => _current = new ForwardProfile();

    /// <summary>Starts the clock for the next op without charging the time since the last one (data loading, the optimizer).</summary>
    public void Resume() => _last = Stopwatch.GetTimestamp();

    internal void Charge(Node node)
    {
        long now = Stopwatch.GetTimestamp();
        _times.Add(node.GetType().Name, now - _last);
        _last = now;
    }

    /// <summary>Seconds and calls per node type, largest first.</summary>
    public IReadOnlyList<(string Node, double Seconds, int Calls)> Entries => _times.Entries;

    public void Dispose() { if (_current == this) _current = null; }
}
