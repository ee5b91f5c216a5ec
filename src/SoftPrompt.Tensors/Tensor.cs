using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Tensors;

/// <summary>
/// A contiguous, row-major float32 tensor. Its storage is a float array, possibly shared with
/// other tensors (a reshape is a view at no cost). Tensors made inside a <see cref="TensorScope"/>
/// give their storage back to the pool when the scope ends (reading one afterwards throws);
/// tensors made outside one (parameters) live until collected.
/// </summary>
public sealed partial class Tensor
{
    readonly int[] _shape;
    readonly float[] _buffer;
    internal readonly int Offset;
    readonly bool _ownsBuffer;

    // The pooled tensor whose lease on the storage this one reads through: itself, or the tensor it
    // is a view of; null for heap storage. Once the lease ends the float array may already belong to
    // another step, so every reader checks it (one check per access, not per element).
    Tensor? _lease;

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    /// <summary>Whether gradients are accumulated into <see cref="Grad"/> for this tensor.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The accumulated gradient, same shape; null until a backward pass reaches this tensor. Settable (e.g. to null) like PyTorch's <c>.grad</c>.</summary>
    public Tensor? Grad
    {
        get => _grad;
        set
        {
            if (value is not null && !value.Shape.SequenceEqual(Shape))
                throw new ShapeMismatchException($"Grad: a gradient of shape {Format(value.Shape)} does not fit a tensor of shape {Format(Shape)}.");
            _grad = value;
        }
    }
    Tensor? _grad;

    /// <summary>Optional name, used in error messages and by modules.</summary>
    public string? Name { get; set; }

    internal Tensor(int[] shape, float[] buffer, int offset, bool ownsBuffer, Tensor? viewOf = null)
    {
        _shape = shape;
        Length = CheckedLength(shape);
        if (offset < 0 || offset + Length > buffer.Length)
            throw new ArgumentException($"Storage of {buffer.Length} floats cannot hold a tensor of shape {Format(shape)} at offset {offset}.");
        _buffer = buffer;
        Offset = offset;
        _ownsBuffer = ownsBuffer;
        _lease = viewOf?._lease;
    }

    public ReadOnlySpan<int> Shape => _shape;
    public int Rank => _shape.Length;

    /// <summary>Size of dimension <paramref name="dim"/>; negative counts from the end.</summary>
    public int Size(int dim) => _shape[NormalizeDim(dim)];

    /// <summary>The elements, row-major.</summary>
    public Span<float> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_lease is { Released: true }) ThrowReleased();
            return _buffer.AsSpan(Offset, Length);
        }
    }

    /// <summary>The storage, for kernels that index it with <see cref="Offset"/>; throws once its pool lease has ended.</summary>
    internal float[] Buffer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (_lease is { Released: true }) ThrowReleased();
            return _buffer;
        }
    }

    internal bool OwnsBuffer => _ownsBuffer;

    /// <summary>The scope whose pool storage this tensor holds; null for heap tensors and views.</summary>
    internal TensorScope? Scope { get; set; }

    /// <summary>Set when this tensor's pooled storage went back to the pool (early, or when its scope ended).</summary>
    internal bool Released { get; private set; }

    /// <summary>The pooled tensor whose storage this one reads (itself or the tensor it views); null on the heap.</summary>
    internal Tensor? Lease => _lease;

    /// <summary>Starts this tensor's lease on pooled storage: from here its views check it too.</summary>
    internal void LeaseFrom(TensorScope scope)
    {
        _lease = this;
        Scope = scope;
    }

    /// <summary>Ends the lease and gives the storage back; this tensor and its views throw when read from now on.</summary>
    internal void ReturnToPool()
    {
        Released = true;
        BufferPool.Return(_buffer);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowReleased()
    {
        var owner = _lease!;
        string what = owner == this ? ToString() : $"{this} (a view of {owner})";
        string when = owner.Scope is null ? "its pooled storage was given back (GiveBack)"
            : owner.Scope is { IsDisposed: false } ? $"its pooled storage was released early, inside {owner.Scope}"
            : $"{owner.Scope} ended and gave its pooled storage back";
        throw new InvalidOperationException(
            $"{what} was used after {when}: that storage may already hold another step's numbers. " +
            "Keep a tensor that must outlive its scope, or take a HeapCopy() before the scope ends.");
    }

    // ---- creation ----------------------------------------------------------------------------

    /// <summary>A tensor of zeros. Inside a scope its storage is pooled.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        var t = Uninitialized(shape);
        t.Span.Clear();
        return t;
    }

    /// <summary>A tensor of zeros on the heap, whatever scope is active: for parameters and loaded weights that outlive steps.</summary>
    public static Tensor ZerosOnHeap(params int[] shape)
    {
        int[] copy = (int[])shape.Clone();
        int n = CheckedLength(copy);
        if (n < AlignedFrom || !AlignLargeHeapTensors || n > Array.MaxLength - 15) return new(copy, new float[n], 0, ownsBuffer: true);
        var buffer = GC.AllocateArray<float>(n + 15, pinned: true);   // pinned: the offset that aligns it stays true
        return new(copy, buffer, LineOffset(buffer), ownsBuffer: true);
    }

    /// <summary>
    /// Heap tensors of at least this many floats (128 KiB: weight matrices, on the large-object heap either way) start on
    /// a 64-byte line: a 16-float vector load of a row then never straddles two lines. A product of a few rows of x reads
    /// each weight row from L1 once per row of x, where a straddling load costs two accesses.
    /// </summary>
    const int AlignedFrom = 32 * 1024;

    /// <summary>Off: heap tensors and 16-bit frozen weights start where their array's elements do (a bench compares the two).</summary>
    public static bool AlignLargeHeapTensors { get; set; } = true;

    /// <summary>Elements from the start of <paramref name="buffer"/> (pinned) to its first 64-byte line.</summary>
    internal static unsafe int LineOffset<T>(T[] buffer) where T : unmanaged
    {
        fixed (T* p = buffer) return (int)((64 - ((nint)p & 63)) & 63) / sizeof(T);
    }

    /// <summary>
    /// A tensor of zeros over pooled storage that no scope tracks, whatever scope is active: for storage that outlives
    /// steps but is made again and again (a generation's key/value cache), so it lands on pages already faulted in
    /// instead of fresh ones (a page fault each, slow in a virtual machine). Give it back with
    /// <see cref="GiveBack"/> when nothing reads it any more; one that is never given back is simply collected.
    /// </summary>
    public static Tensor ZerosPooled(params int[] shape)
    {
        int[] copy = (int[])shape.Clone();
        var (buffer, offset) = Pooled(CheckedLength(copy));
        var t = new Tensor(copy, buffer, offset, ownsBuffer: true);
        t._lease = t;   // a lease of no scope: its views check it, GiveBack ends it
        t.Span.Clear();
        return t;
    }

    /// <summary>Returns the storage of a tensor made by <see cref="ZerosPooled"/> to the pool; the tensor and its views throw when read afterwards.</summary>
    public static void GiveBack(Tensor t)
    {
        if (t._lease != t || t.Scope is not null)
            throw new ArgumentException($"GiveBack: {t} was not made by ZerosPooled (a view, a heap tensor or a scope's own).", nameof(t));
        if (t.Released) throw new InvalidOperationException($"GiveBack: {t} was already given back.");
        t.ReturnToPool();
    }

    /// <summary>A copy of this tensor's values on the heap (outside any scope), not in the autograd graph.</summary>
    public Tensor HeapCopy()
    {
        var copy = ZerosOnHeap(Shape.ToArray());
        Span.CopyTo(copy.Span);
        return copy;
    }

    /// <summary>A tensor whose contents are unspecified (pooled storage is not cleared).</summary>
    public static Tensor Uninitialized(params int[] shape)
    {
        int[] copy = (int[])shape.Clone();
        int n = CheckedLength(copy);
        var scope = TensorScope.Current;
        if (scope is null) return new Tensor(copy, new float[n], 0, ownsBuffer: true);
        var (buffer, offset) = Pooled(n);
        var t = new Tensor(copy, buffer, offset, ownsBuffer: true);
        scope.Track(t);
        return t;
    }

    /// <summary>
    /// Pooled storage for <paramref name="n"/> floats; from 256 on it starts on a 64-byte line, as large heap tensors do
    /// (pooled arrays are pinned, so the offset stays true): the rows of x a product reads again and again, a cache's rows.
    /// </summary>
    static (float[] Buffer, int Offset) Pooled(int n)
    {
        if (n < 256 || !AlignLargeHeapTensors || n > Array.MaxLength - 15) return (BufferPool.Rent(n), 0);
        var buffer = BufferPool.Rent(n + 15);
        return (buffer, LineOffset(buffer));
    }

    /// <summary>A tensor of the given shape filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Uninitialized(shape);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A tensor holding a copy of <paramref name="values"/>.</summary>
    public static Tensor FromArray(ReadOnlySpan<float> values, params int[] shape)
    {
        var t = Uninitialized(shape);
        if (values.Length != t.Length)
            throw new ArgumentException($"{values.Length} values do not fill shape {Format(shape)} ({t.Length} elements).");
        values.CopyTo(t.Span);
        return t;
    }

    /// <summary>A scalar (shape []).</summary>
    public static Tensor Scalar(float value) => FromArray([value], []);

    /// <summary>A tensor of this shape with unspecified contents.</summary>
    public Tensor EmptyLike() => Uninitialized(_shape);

    /// <summary>A tensor of zeros of this shape.</summary>
    public Tensor ZerosLike() => Zeros(_shape);

    /// <summary>A copy of the data with no autograd history.</summary>
    public Tensor Clone()
    {
        var t = EmptyLike();
        Span.CopyTo(t.Span);
        return t;
    }

    /// <summary>A tensor sharing this storage that is not part of the autograd graph.</summary>
    public Tensor Detach() => new(_shape, _buffer, Offset, ownsBuffer: false, viewOf: this) { Name = Name };

    /// <summary>A view of the same storage with another shape (no copy, not recorded on the tape: use Reshape inside a graph).</summary>
    public Tensor View(int[] shape) => new(shape, _buffer, Offset, ownsBuffer: false, viewOf: this);

    /// <summary>A view of a contiguous range of this tensor's storage.</summary>
    public Tensor View(int[] shape, int elementOffset) => new(shape, _buffer, Offset + elementOffset, ownsBuffer: false, viewOf: this);

    /// <summary>The scalar value of a one-element tensor.</summary>
    public float Item()
    {
        if (Length != 1) throw new InvalidOperationException($"Item() needs a tensor with one element, not shape {Format(_shape)}.");
        return Buffer[Offset];
    }

    public float[] ToArray() => Span.ToArray();

    // ---- autograd ----------------------------------------------------------------------------

    /// <summary>Gradient buffer for accumulation, made (zeroed) on first use. Leaves keep theirs across steps.</summary>
    internal Span<float> GradSpan()
    {
        if (Grad is null)
        {
            // A leaf's gradient outlives the step's scope; an intermediate's dies with it.
            Grad = Creator is null ? new Tensor(_shape, new float[Length], 0, true) : Zeros(_shape);
        }
        return Grad.Span;
    }

    /// <summary>
    /// Gradient buffer for a backward that will either add into it or, when <paramref name="overwrite"/>
    /// comes back true (the gradient did not exist yet), write every element: that saves zeroing
    /// and re-reading a buffer that is about to be filled anyway.
    /// </summary>
    internal Span<float> GradSpanForWrite(out bool overwrite)
    {
        overwrite = Grad is null && Creator is not null;
        if (overwrite) Grad = Uninitialized(_shape);
        return GradSpan();
    }

    /// <summary>The gradient tensor, made (zeroed) on first use.</summary>
    internal Tensor GradSpanTensor()
    {
        GradSpan();
        return Grad!;
    }

    /// <summary>The tape node that produced this tensor; null for leaves.</summary>
    internal Node? Creator { get; set; }

    /// <summary>True for tensors not produced by a recorded op (inputs and parameters).</summary>
    public bool IsLeaf => Creator is null;

    /// <summary>Clears the gradient (keeps the buffer).</summary>
    public void ZeroGrad() => Grad?.Span.Clear();

    /// <summary>Runs the backward pass from this scalar (seed 1).</summary>
    public void Backward()
    {
        if (Length != 1) throw new InvalidOperationException($"Backward() without a seed gradient needs a scalar, not shape {Format(_shape)}; pass the upstream gradient.");
        Tape.Backward(this, null);
    }

    /// <summary>Runs the backward pass from this tensor with upstream gradient <paramref name="seed"/> (same shape).</summary>
    public void Backward(Tensor seed)
    {
        ShapeCheck.Same("Backward", this, seed);
        Tape.Backward(this, seed);
    }

    // ---- shapes ------------------------------------------------------------------------------

    internal int NormalizeDim(int dim)
    {
        int d = dim < 0 ? dim + _shape.Length : dim;
        if ((uint)d >= (uint)_shape.Length)
            throw new ArgumentOutOfRangeException(nameof(dim), $"Dimension {dim} is out of range for shape {Format(_shape)}.");
        return d;
    }

    internal static int CheckedLength(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int s in shape)
        {
            if (s < 0) throw new ArgumentException($"Negative size in shape {Format(shape)}.");
            n *= s;
            if (n > int.MaxValue) throw new ArgumentException($"Shape {Format(shape)} has more than {int.MaxValue} elements.");
        }
        return (int)n;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public override string ToString() => $"Tensor{Format(_shape)}{(Name is null ? "" : " " + Name)}{(RequiresGrad ? " requires_grad" : "")}";
}
