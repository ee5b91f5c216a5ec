using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Reshape (a free view), permute/transpose, slice, concat and stack (copies).</summary>
public static partial class Functional
{
    // x: [..] -> shape (same element count; one -1 is inferred). Shares storage.
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        shape = (int[])shape.Clone();
        int infer = Array.IndexOf(shape, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != infer) known *= shape[i];
            if (known == 0 || x.Length % known != 0)
                throw new ShapeMismatchException($"Reshape: cannot infer -1 in {Tensor.Format(shape)} from shape {Tensor.Format(x.Shape)}.");
            shape[infer] = x.Length / known;
        }
        if (Tensor.CheckedLength(shape) != x.Length)
            throw new ShapeMismatchException($"Reshape: shape {Tensor.Format(x.Shape)} ({x.Length} elements) cannot become {Tensor.Format(shape)}.");
        var y = x.View(shape);
        if (Tape.Needs(x)) Tape.Record(new PassThroughNode(x), y);
        return y;
    }

    // x: [.., D, ..] -> [.., 1, D, ..] (new axis at dim)
    public static Tensor Unsqueeze(Tensor x, int dim)
    {
        if (dim < 0) dim += x.Rank + 1;
        var shape = x.Shape.ToArray().ToList();
        shape.Insert(dim, 1);
        return Reshape(x, shape.ToArray());
    }

    // x: [d0, d1, ..] -> [d_p0, d_p1, ..]
    public static Tensor Permute(Tensor x, params int[] dims)
    {
        if (dims.Length != x.Rank || dims.Distinct().Count() != dims.Length || dims.Any(d => d < 0 || d >= x.Rank))
            throw new ShapeMismatchException($"Permute: {Tensor.Format(dims)} is not a permutation of the dimensions of shape {Tensor.Format(x.Shape)}.");
        var shape = dims.Select(d => x.Shape[d]).ToArray();
        var y = Tensor.Uninitialized(shape);
        PermuteCopy(x.Span, x.Shape, dims, y.Span, accumulate: false);
        if (Tape.Needs(x)) Tape.Record(new PermuteNode(x, dims), y);
        return y;
    }

    // x: [.., a, .., b, ..] -> [.., b, .., a, ..]
    public static Tensor Transpose(Tensor x, int dim0, int dim1)
    {
        dim0 = x.NormalizeDim(dim0); dim1 = x.NormalizeDim(dim1);
        var dims = Enumerable.Range(0, x.Rank).ToArray();
        (dims[dim0], dims[dim1]) = (dims[dim1], dims[dim0]);
        return Permute(x, dims);
    }

    /// <summary>dst[permuted index] (+)= src[index]: walks dst in order, reading src with permuted strides.</summary>
    static void PermuteCopy(ReadOnlySpan<float> src, ReadOnlySpan<int> srcShape, int[] dims, Span<float> dst, bool accumulate)
    {
        int r = dims.Length;
        if (src.Length == 0) return;
        Span<int> srcStride = stackalloc int[r];
        int s = 1;
        for (int i = r - 1; i >= 0; i--) { srcStride[i] = s; s *= srcShape[i]; }
        Span<int> stride = stackalloc int[r]; // stride in src of dst's dimension i
        Span<int> shape = stackalloc int[r];
        for (int i = 0; i < r; i++) { stride[i] = srcStride[dims[i]]; shape[i] = srcShape[dims[i]]; }
        if (r == 0) { if (accumulate) dst[0] += src[0]; else dst[0] = src[0]; return; }
        int inner = shape[r - 1], innerStride = stride[r - 1];
        int rows = dst.Length / inner;
        Span<int> idx = stackalloc int[r];
        int so = 0;
        for (int row = 0; row < rows; row++)
        {
            var d = dst.Slice(row * inner, inner);
            if (innerStride == 1)
            {
                if (accumulate) TensorPrimitives.Add(d, src.Slice(so, inner), d);
                else src.Slice(so, inner).CopyTo(d);
            }
            else if (accumulate) for (int j = 0; j < inner; j++) d[j] += src[so + j * innerStride];
            else for (int j = 0; j < inner; j++) d[j] = src[so + j * innerStride];
            for (int k = r - 2; k >= 0; k--)
            {
                idx[k]++;
                so += stride[k];
                if (idx[k] < shape[k]) break;
                so -= stride[k] * shape[k];
                idx[k] = 0;
            }
        }
    }

    sealed class PermuteNode(Tensor x, int[] dims) : Node
    {
        protected internal override void Backward()
        {
            // The gradient goes back through the inverse permutation.
            var inverse = new int[dims.Length];
            for (int i = 0; i < dims.Length; i++) inverse[dims[i]] = i;
            PermuteCopy(Output.Grad!.Span, Output.Shape, inverse, x.GradSpan(), accumulate: true);
        }
    }

    // x: [.., D, ..] -> [.., length, ..] taking indices start..start+length-1 of dim
    public static Tensor Slice(Tensor x, int dim, int start, int length)
    {
        dim = x.NormalizeDim(dim);
        int size = x.Shape[dim];
        if (start < 0 || length < 0 || start + length > size)
            throw new ShapeMismatchException($"Slice: [{start}, {start + length}) is outside dimension {dim} of size {size} (shape {Tensor.Format(x.Shape)}).");
        var shape = x.Shape.ToArray();
        shape[dim] = length;
        var (outer, _, inner) = Around(x, dim);
        var y = Tensor.Uninitialized(shape);
        var xs = x.Span; var ys = y.Span;
        for (int o = 0; o < outer; o++)
            xs.Slice((o * size + start) * inner, length * inner).CopyTo(ys.Slice(o * length * inner, length * inner));
        if (Tape.Needs(x)) Tape.Record(new SliceNode(x, dim, start, length), y);
        return y;
    }

    sealed class SliceNode(Tensor x, int dim, int start, int length) : Node
    {
        protected internal override void Backward()
        {
            var (outer, size, inner) = Around(x, dim);
            var g = Output.Grad!.Span; var gx = x.GradSpan();
            for (int o = 0; o < outer; o++)
            {
                var dst = gx.Slice((o * size + start) * inner, length * inner);
                TensorPrimitives.Add(dst, g.Slice(o * length * inner, length * inner), dst);
            }
        }
    }

    // xs[i]: [.., D_i, ..] -> [.., ΣD_i, ..]
    public static Tensor Concat(IReadOnlyList<Tensor> xs, int dim)
    {
        if (xs.Count == 0) throw new ArgumentException("Concat: no tensors given.");
        var first = xs[0];
        dim = first.NormalizeDim(dim);
        int total = 0;
        foreach (var t in xs)
        {
            if (t.Rank != first.Rank) throw ShapeCheck.Fail("Concat", "ranks differ", first, t);
            for (int i = 0; i < t.Rank; i++)
                if (i != dim && t.Shape[i] != first.Shape[i]) throw ShapeCheck.Fail("Concat", $"sizes differ outside dimension {dim}", first, t);
            total += t.Shape[dim];
        }
        var shape = first.Shape.ToArray();
        shape[dim] = total;
        var y = Tensor.Uninitialized(shape);
        var (outer, _, inner) = Around(y, dim);
        var ys = y.Span;
        int at = 0;
        bool needs = false;
        foreach (var t in xs)
        {
            int len = t.Shape[dim] * inner;
            var src = t.Span;
            for (int o = 0; o < outer; o++) src.Slice(o * len, len).CopyTo(ys.Slice(o * total * inner + at, len));
            at += len;
            needs |= t.RequiresGrad;
        }
        if (needs && Tape.IsEnabled) Tape.Record(new ConcatNode(xs.ToArray(), dim), y);
        return y;
    }

    sealed class ConcatNode(Tensor[] xs, int dim) : Node
    {
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span;
            var (outer, total, inner) = Around(Output, dim);
            int at = 0;
            foreach (var t in xs)
            {
                int len = t.Shape[dim] * inner;
                if (t.RequiresGrad)
                {
                    var gx = t.GradSpan();
                    for (int o = 0; o < outer; o++)
                    {
                        var dst = gx.Slice(o * len, len);
                        TensorPrimitives.Add(dst, g.Slice(o * total * inner + at, len), dst);
                    }
                }
                at += len;
            }
        }
    }

    // xs[i]: [..] (all equal) -> [.., n, ..] with the new axis at dim
    public static Tensor Stack(IReadOnlyList<Tensor> xs, int dim)
    {
        if (xs.Count == 0) throw new ArgumentException("Stack: no tensors given.");
        foreach (var t in xs) ShapeCheck.Same("Stack", xs[0], t);
        return Concat(xs.Select(t => Unsqueeze(t, dim)).ToArray(), dim < 0 ? dim + xs[0].Rank + 1 : dim);
    }
}
