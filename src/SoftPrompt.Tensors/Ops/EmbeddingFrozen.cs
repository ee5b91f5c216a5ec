using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Row lookup in a frozen table that may be stored as bf16/f16 (rows widened as they are gathered).</summary>
public static partial class Functional
{
    // table: [V, D] frozen, ids: [..] (shape idsShape) -> [.., D]; no gradient reaches the table
    public static unsafe Tensor Embedding(FrozenWeight table, ReadOnlySpan<int> ids, params int[] idsShape)
    {
        if (table.Float32 is { } f32) return Embedding(f32, ids, idsShape);
        if (idsShape.Length == 0) idsShape = [ids.Length];
        if (Tensor.CheckedLength(idsShape) != ids.Length)
            throw new ShapeMismatchException($"Embedding: {ids.Length} ids do not fill shape {Tensor.Format(idsShape)}.");
        int v = table.Rows, d = table.Cols;
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)v) throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: id {ids[i]} at position {i} is outside the table of {v} rows.");
        var y = Tensor.Uninitialized([.. idsShape, d]);
        fixed (ushort* bits = table.Bits)
        fixed (float* dst = y.Span)
        {
            bool bf16 = table.Dtype == WeightDtype.BF16;
            for (int i = 0; i < ids.Length; i++)
            {
                ushort* row = bits + (nint)ids[i] * d;
                if (bf16) HalfFloat.WidenRun<Bf16>(row, dst + (nint)i * d, d);
                else HalfFloat.WidenRun<F16>(row, dst + (nint)i * d, d);
            }
        }
        return y;
    }
}
