using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SoftPrompt.Tensors.Weights;

/// <summary>
/// A frozen weight matrix [rows, cols] that a model only reads: float32 (wrapping a heap
/// <see cref="Tensor"/>), or bfloat16 / float16 bits in a pinned ushort array at half the size.
/// Compute stays float32: <c>Functional.Linear</c> widens 16-bit weights while packing them for
/// the GEMM (or on the fly in the matrix-vector case) and <c>Functional.Embedding</c> while
/// gathering rows. No gradient is ever computed for it.
/// </summary>
public sealed class FrozenWeight
{
    readonly int[] _shape;
    readonly Tensor? _f32;
    readonly ushort[]? _bits;   // pinned: kernels take its address without pinning
    readonly int _bitsOffset;   // where the elements start in _bits: on a 64-byte line (NewBits)

    public WeightDtype Dtype { get; }
    public string? Name { get; set; }

    /// <summary>[rows, cols].</summary>
    public ReadOnlySpan<int> Shape => _shape;
    public int Rows => _shape[0];
    public int Cols => _shape[1];
    public long ElementCount => (long)Rows * Cols;

    /// <summary>Bytes of element storage this weight holds (4 or 2 per element).</summary>
    public long SizeInBytes => ElementCount * (Dtype == WeightDtype.F32 ? 4 : 2);

    /// <summary>The float32 tensor of an F32 weight; null for BF16/F16.</summary>
    public Tensor? Float32 => _f32;

    /// <summary>The 16-bit patterns of a BF16/F16 weight, row-major; empty for F32.</summary>
    public ReadOnlySpan<ushort> Bits => _bits is null ? default : _bits.AsSpan(_bitsOffset, (int)ElementCount);

    FrozenWeight(WeightDtype dtype, int[] shape, Tensor? f32, (ushort[] Array, int Offset)? bits, string? name)
    {
        Dtype = dtype; _shape = shape; _f32 = f32; (_bits, _bitsOffset) = bits ?? (null!, 0); Name = name;
    }

    /// <summary>
    /// Pinned storage for <paramref name="n"/> 16-bit elements starting on a 64-byte line, as large float32 tensors do
    /// (<see cref="Tensor.ZerosOnHeap"/>): a vector load of a row then never straddles two lines.
    /// </summary>
    static (ushort[] Array, int Offset) NewBits(int n)
    {
        if (!Tensor.AlignLargeHeapTensors) return (GC.AllocateUninitializedArray<ushort>(n, pinned: true), 0);
        var a = GC.AllocateUninitializedArray<ushort>(n + 31, pinned: true);
        return (a, Tensor.LineOffset(a));
    }

    /// <summary>
    /// A weight from a float32 [rows, cols] tensor: with <paramref name="storage"/> F32 it wraps the
    /// tensor (no copy); BF16/F16 narrow a copy, round-to-nearest-even.
    /// </summary>
    public static FrozenWeight FromTensor(Tensor t, WeightDtype storage = WeightDtype.F32)
    {
        ShapeCheck.Rank("FrozenWeight", t, 2, "weight");
        if (t.RequiresGrad)
            throw new ArgumentException($"FrozenWeight: {t} requires grad; a frozen weight gets no gradient, so a trainable tensor must stay a Tensor.");
        if (storage == WeightDtype.F32) return new FrozenWeight(WeightDtype.F32, t.Shape.ToArray(), t, null, t.Name);
        return FromFloats(t.Span, t.Shape[0], t.Shape[1], storage, t.Name);
    }

    /// <summary>
    /// A weight holding <paramref name="values"/> (row-major [rows, cols]) as <paramref name="storage"/>:
    /// F32 copies them into a heap tensor, BF16/F16 narrow them (round-to-nearest-even) with no
    /// float32 copy on the way — a float32 checkpoint loads straight into half the memory.
    /// </summary>
    public static FrozenWeight FromFloats(ReadOnlySpan<float> values, int rows, int cols, WeightDtype storage, string? name = null)
    {
        if (rows < 0 || cols < 0 || (long)rows * cols != values.Length)
            throw new ArgumentException($"FrozenWeight.FromFloats: {values.Length} values do not fill [{rows}, {cols}].");
        if (storage == WeightDtype.F32)
        {
            var t = Tensor.ZerosOnHeap(rows, cols);
            values.CopyTo(t.Span);
            t.Name = name;
            return new FrozenWeight(WeightDtype.F32, [rows, cols], t, null, name);
        }
        var bits = NewBits(values.Length);
        HalfFloat.Narrow(storage, values, bits.Array.AsSpan(bits.Offset, values.Length));
        return new FrozenWeight(storage, [rows, cols], null, bits, name);
    }

    /// <summary>A BF16 or F16 weight holding a copy of <paramref name="bits"/> (row-major [rows, cols]).</summary>
    public static FrozenWeight FromBits(WeightDtype dtype, ReadOnlySpan<ushort> bits, int rows, int cols, string? name = null)
    {
        if (dtype == WeightDtype.F32) throw new ArgumentException("FrozenWeight.FromBits: F32 weights come from FromTensor.", nameof(dtype));
        if (rows < 0 || cols < 0 || (long)rows * cols != bits.Length)
            throw new ArgumentException($"FrozenWeight.FromBits: {bits.Length} values do not fill [{rows}, {cols}].");
        var copy = NewBits(bits.Length);
        bits.CopyTo(copy.Array.AsSpan(copy.Offset));
        return new FrozenWeight(dtype, [rows, cols], null, copy, name);
    }

    /// <summary>A new float32 heap tensor holding the (widened) values.</summary>
    public Tensor ToTensor()
    {
        var t = Tensor.ZerosOnHeap(Rows, Cols);
        if (_f32 is not null) _f32.Span.CopyTo(t.Span);
        else HalfFloat.Widen(Dtype, Bits, t.Span);
        t.Name = Name;
        return t;
    }

    /// <summary>Row <paramref name="row"/> as float32 into <paramref name="dst"/> (cols floats).</summary>
    public void ReadRow(int row, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} is outside the {Rows} rows of {this}.");
        if (_f32 is not null) _f32.Span.Slice(row * Cols, Cols).CopyTo(dst);
        else HalfFloat.Widen(Dtype, Bits.Slice(row * Cols, Cols), dst);
    }

    /// <summary>Columns [start, start+count) as a new contiguous [rows, count] weight of the same dtype (e.g. q|k|v of a fused projection).</summary>
    public FrozenWeight Columns(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Cols)
            throw new ArgumentOutOfRangeException(nameof(start), $"columns [{start}, {start + count}) are outside the {Cols} columns of {this}.");
        if (_f32 is not null)
        {
            var r = Tensor.ZerosOnHeap(Rows, count);
            for (int i = 0; i < Rows; i++) _f32.Span.Slice(i * Cols + start, count).CopyTo(r.Span.Slice(i * count, count));
            r.Name = Name;
            return new FrozenWeight(WeightDtype.F32, [Rows, count], r, null, Name);
        }
        var bits = NewBits(Rows * count);
        var src = Bits;
        var dst = bits.Array.AsSpan(bits.Offset, Rows * count);
        for (int i = 0; i < Rows; i++) src.Slice(i * Cols + start, count).CopyTo(dst.Slice(i * count, count));
        return new FrozenWeight(Dtype, [Rows, count], null, bits, Name);
    }

    /// <summary>
    /// A copy stored [cols, rows], same dtype, bits unchanged. Decoding multiplies one row of x by each weight: with the
    /// weight stored [out, in] every output is a dot product over a contiguous row, which streams from memory faster
    /// than the [in, out] (Conv1D) order's axpys (bench decode: about a quarter more read bandwidth on GPT-2-small's).
    /// </summary>
    public FrozenWeight Transposed()
    {
        int rows = Rows, cols = Cols;
        if (_f32 is not null)
        {
            var t = Tensor.ZerosOnHeap(cols, rows);
            var src = _f32.Span;
            var dst = t.Span;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++) dst[j * rows + i] = src[i * cols + j];
            t.Name = Name;
            return new FrozenWeight(WeightDtype.F32, [cols, rows], t, null, Name);
        }
        var bits = NewBits(rows * cols);
        var from = Bits;
        var to = bits.Array.AsSpan(bits.Offset, rows * cols);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) to[j * rows + i] = from[i * cols + j];
        return new FrozenWeight(Dtype, [cols, rows], null, bits, Name);
    }

    /// <summary>Where the elements lie in memory now, for <see cref="HugePages"/> (advice only: a float32 weight's array is not pinned, but it is a large object the collector does not move).</summary>
    internal unsafe (nint Start, long Bytes) StorageRange()
    {
        if (_bits is not null) return ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(Bits)), ElementCount * 2);
        var t = _f32!;
        return ((nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.Span)), (long)t.Length * 4);
    }

    public override string ToString() => $"FrozenWeight{Tensor.Format(_shape)} {Dtype}{(Name is null ? "" : " " + Name)}";
}
