using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Memory;

/// <summary>
/// A region of work (typically one training step) whose temporary tensors give their storage
/// back to the <see cref="BufferPool"/> when it ends, and whose tape nodes are dropped.
/// <code>using (TensorScope.Begin()) { var loss = model.Loss(batch); loss.Backward(); opt.Step(); }</code>
/// A tensor that must outlive the scope is passed to <see cref="Keep"/>.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? _current;
    readonly TensorScope? _parent;
    readonly List<Tensor> _owned = new(256);
    readonly int _tapeMark;
    bool _disposed;

    TensorScope()
    {
        _parent = _current;
        _tapeMark = Tape.Count;
        _current = this;
    }

    internal static TensorScope? Current => _current;

    public static TensorScope Begin() => new();

    internal void Track(Tensor t)
    {
        t.Scope = this;
        _owned.Add(t);
    }

    /// <summary>Returns a tracked tensor's storage to the pool before the scope ends (its owner promises not to touch it again).</summary>
    internal static void ReleaseEarly(Tensor t)
    {
        if (t.Scope is null || t.Released || !t.OwnsBuffer) return;
        t.Released = true;
        BufferPool.Return(t.Buffer);
    }

    /// <summary>Makes <paramref name="t"/> survive this scope: it moves to the enclosing scope, or to the heap.</summary>
    public Tensor Keep(Tensor t)
    {
        int i = _owned.LastIndexOf(t);
        if (i < 0) return t;
        _owned.RemoveAt(i);
        t.Scope = null;
        _parent?.Track(t);
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this) throw new InvalidOperationException("Tensor scopes must be disposed innermost first.");
        _disposed = true;
        Tape.TruncateTo(_tapeMark);
        foreach (var t in _owned) if (!t.Released) BufferPool.Return(t.Buffer);
        _owned.Clear();
        _current = _parent;
    }
}
