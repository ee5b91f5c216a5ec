using System.Diagnostics;

namespace SoftPrompt.Tensors.Autograd;

/// <summary>
/// Forward time per op, collected while a profile is active on this thread: each recorded node is charged the time since
/// the previous record (or since <see cref="Resume"/>), which is its op's forward when ops run back to back — an op that
/// records nothing (no input needs grad) is charged to the next one that does, and the first one after a backward pass to
/// <see cref="BetweenSteps"/>. The forward counterpart of
/// <see cref="BackwardProfile"/>: <code>using var p = ForwardProfile.Start(); p.Resume(); var loss = model.Loss(batch);</code>
/// </summary>
public sealed class ForwardProfile : IDisposable
{
    [ThreadStatic] static ForwardProfile? _current;
    readonly OpTimes _times = new();
    long _last = Stopwatch.GetTimestamp();
    bool _afterBackward;

    internal static ForwardProfile? Current => _current;

    public static ForwardProfile Start() => _current = new ForwardProfile();

    /// <summary>Starts the clock for the next op without charging the time since the last one (data loading, the optimizer).</summary>
    public void Resume() => _last = Stopwatch.GetTimestamp();

    /// <summary>What the first recorded op after a backward pass is charged to: the time since that pass ended holds the
    /// optimizer step, the next batch's data and whatever else ran between steps, not only the op's forward.</summary>
    public const string BetweenSteps = "(between steps: optimizer, data, first op)";

    internal void Charge(Node node)
    {
        long now = Stopwatch.GetTimestamp();
        _times.Add(_afterBackward ? BetweenSteps : node.GetType().Name, now - _last);
        _afterBackward = false;
        _last = now;
    }

    /// <summary>A backward pass ended on this thread (the tape calls it).</summary>
    internal void BackwardEnded()
    {
        _afterBackward = true;
        _last = Stopwatch.GetTimestamp();
    }

    /// <summary>Seconds and calls per node type, largest first.</summary>
    public IReadOnlyList<(string Node, double Seconds, int Calls)> Entries => _times.Entries;

    public void Dispose() { if (_current == this) _current = null; }
}
