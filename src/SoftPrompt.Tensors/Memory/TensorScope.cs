using System.Runtime.CompilerServices;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Memory;

/// <summary>
/// A region of work (typically one training step) whose temporary tensors give their storage
/// back to the <see cref="BufferPool"/> when it ends, and whose tape nodes are dropped.
/// <code>using (TensorScope.Begin()) { var loss = model.Loss(batch); loss.Backward(); opt.Step(); }</code>
/// A tensor that must outlive the scope is passed to <see cref="Keep"/>. Reading a tensor (or a view
/// of it) after its storage went back throws, naming this scope (see <see cref="ToString"/>).
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? _current;
    static long _lastId;
    readonly TensorScope? _parent;
    readonly List<Tensor> _owned = new(256);
    readonly int _tapeMark;
    bool _disposed;

    // Who made the scope, for use-after-release messages: compile-time constants, so Begin allocates nothing more.
    readonly long _id;
    readonly int _depth;
    readonly string? _name, _member, _file;
    readonly int _line;

    TensorScope(string? name, string member, string file, int line)
    {
        _parent = _current;
        _tapeMark = Tape.Count;
        _id = Interlocked.Increment(ref _lastId);
        _depth = _parent is null ? 1 : _parent._depth + 1;
        (_name, _member, _file, _line) = (name, member, file, line);
        _current = this;
    }

    internal static TensorScope? Current => _current;

    internal bool IsDisposed => _disposed;

    /// <summary>Begins a scope; <paramref name="name"/> (optional) and the calling site appear in use-after-release errors.</summary>
    public static TensorScope Begin(string? name = null,
        [CallerMemberName] string member = "", [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        => new(name, member, file, line);

    internal void Track(Tensor t)
    {
        t.LeaseFrom(this);
        _owned.Add(t);
    }

    /// <summary>Returns a tracked tensor's storage to the pool before the scope ends (its owner promises not to touch it again).</summary>
    internal static void ReleaseEarly(Tensor t)
    {
        if (t.Scope is null || t.Released || !t.OwnsBuffer) return;
        t.ReturnToPool();
    }

    /// <summary>
    /// Gives the pooled storage of tensors that nothing will read again back before the scope ends — a forward pass's
    /// intermediates, layer by layer, when no graph is recorded — so a long pass does not hold every layer's at once.
    /// While the tape records, nothing is released (the backward pass reads them); views and heap tensors are left
    /// alone; reading a released tensor throws.
    /// </summary>
    public static void Release(params ReadOnlySpan<Tensor?> tensors)
    {
        if (Tape.IsEnabled) return;
        foreach (var t in tensors)
            if (t is not null) ReleaseEarly(t);
    }

    /// <summary>
    /// Makes <paramref name="t"/> survive this scope: it moves to the enclosing scope, or to the heap.
    /// For a view (a Reshape, a Detach) the tensor whose storage it shares is the one that moves.
    /// </summary>
    public Tensor Keep(Tensor t)
    {
        var owner = t.Lease ?? t;
        int i = _owned.LastIndexOf(owner);
        if (i < 0) return t;
        _owned.RemoveAt(i);
        owner.Scope = null;
        _parent?.Track(owner);
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this) throw new InvalidOperationException("Tensor scopes must be disposed innermost first.");
        _disposed = true;
        Tape.TruncateTo(_tapeMark);
        foreach (var t in _owned) if (!t.Released) t.ReturnToPool();
        _owned.Clear();
        _current = _parent;
    }

    /// <summary>E.g. <c>TensorScope #12 "step" (depth 1, begun in Run at StepBench.cs:38)</c>.</summary>
    public override string ToString() =>
        $"TensorScope #{_id}{(_name is null ? "" : $" \"{_name}\"")} (depth {_depth}, begun in {_member} at {Path.GetFileName(_file)}:{_line})";
}
