namespace SoftPrompt.Tensors.Autograd;

/// <summary>
/// Time spent in backward per node type, collected while a profile is active on this thread:
/// <code>using var p = BackwardProfile.Start(); loss.Backward(); Console.Write(p.Report());</code>
/// </summary>
public sealed class BackwardProfile : IDisposable
{
    [ThreadStatic] static BackwardProfile? _current;
    readonly OpTimes _times = new();

    internal static BackwardProfile? Current => _current;

    public static BackwardProfile Start() => _current = new BackwardProfile();

    internal void Add(string node, long ticks) => _times.Add(node, ticks);

    /// <summary>Seconds and calls per node type, largest first.</summary>
    public IReadOnlyList<(string Node, double Seconds, int Calls)> Entries => _times.Entries;

    public string Report() => string.Join(Environment.NewLine, Entries.Select(e => $"{e.Node,-24} {e.Seconds,8:F3} s  {e.Calls,5} calls"));

    public void Dispose() { if (_current == this) _current = null; }
}
