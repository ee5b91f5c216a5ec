using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Row lookup (embedding) and torch.gather, both with scatter-add backward.</summary>
public static partial class Functional
{
    // table: [V, D], ids: [..] (shape idsShape) -> [.., D]
    public static Tensor Embedding(Tensor table, ReadOnlySpan<int> ids, params int[] idsShape)
    {
        ShapeCheck.Rank("Embedding", table, 2, "table");
        if (idsShape.Length == 0) idsShape = [ids.Length];
        if (Tensor.CheckedLength(idsShape) != ids.Length)
            throw new ShapeMismatchException($"Embedding: {ids.Length} ids do not fill shape {Tensor.Format(idsShape)}.");
        int v = table.Shape[0], d = table.Shape[1];
        int[] idArr = ids.ToArray();
        for (int i = 0; i < idArr.Length; i++)
            if ((uint)idArr[i] >= (uint)v) throw new ArgumentOutOfRangeException(nameof(ids), $"Embedding: id {idArr[i]} at position {i} is outside the table of {v} rows.");
        return GatherRows(table, idArr, [.. idsShape, d]);   // backward: dTable[id] += dy[i] for every position i holding id
    }

    // x: [.., S, ..], index: [.., S', ..] (same rank, index ∈ [0, S)) -> index's shape;  y[..i..] = x[..index[..i..]..] along dim
    public static Tensor Gather(Tensor x, int dim, ReadOnlySpan<int> index, params int[] indexShape)
    {
        dim = x.NormalizeDim(dim);
        if (indexShape.Length != x.Rank)
            throw new ShapeMismatchException($"Gather: index shape {Tensor.Format(indexShape)} must have the rank of input shape {Tensor.Format(x.Shape)}.");
        for (int i = 0; i < x.Rank; i++)
            if (i != dim && indexShape[i] > x.Shape[i])
                throw new ShapeMismatchException($"Gather: index shape {Tensor.Format(indexShape)} exceeds input shape {Tensor.Format(x.Shape)} at dimension {i}.");
        if (Tensor.CheckedLength(indexShape) != index.Length)
            throw new ShapeMismatchException($"Gather: {index.Length} indices do not fill shape {Tensor.Format(indexShape)}.");
        int[] src = GatherSources(x.Shape, dim, index, indexShape);
        var y = Tensor.Uninitialized(indexShape);
        var xs = x.Span; var ys = y.Span;
        for (int i = 0; i < src.Length; i++) ys[i] = xs[src[i]];
        if (Tape.Needs(x)) Tape.Record(new GatherNode(x, src), y);
        return y;
    }

    /// <summary>For each output element, the flat offset in x it reads.</summary>
    static int[] GatherSources(ReadOnlySpan<int> xShape, int dim, ReadOnlySpan<int> index, int[] indexShape)
    {
        int r = xShape.Length;
        Span<int> xStride = stackalloc int[r];
        int s = 1;
        for (int i = r - 1; i >= 0; i--) { xStride[i] = s; s *= xShape[i]; }
        var src = new int[index.Length];
        Span<int> idx = stackalloc int[r];
        for (int flat = 0; flat < index.Length; flat++)
        {
            int rem = flat;
            for (int i = r - 1; i >= 0; i--) { idx[i] = rem % indexShape[i]; rem /= indexShape[i]; }
            int v = index[flat];
            if ((uint)v >= (uint)xShape[dim])
                throw new ArgumentOutOfRangeException(nameof(index), $"Gather: index {v} at position {flat} is outside dimension {dim} of size {xShape[dim]}.");
            int off = 0;
            for (int i = 0; i < r; i++) off += (i == dim ? v : idx[i]) * xStride[i];
            src[flat] = off;
        }
        return src;
    }

    sealed class GatherNode(Tensor x, int[] src) : Node
    {
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span; var gx = x.GradSpan();
            for (int i = 0; i < src.Length; i++) gx[src[i]] += g[i];
        }
    }
}
