namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// NumPy broadcasting for binary ops: shapes are aligned at the right, size-1 dimensions stretch.
/// Loops run the last dimension as a contiguous (or stride-0) row so the inner work is a
/// TensorPrimitives call.
/// </summary>
internal static class Broadcast
{
    /// <summary>The broadcast shape of a and b, or a ShapeMismatchException naming both.</summary>
    public static int[] Shape(string op, Tensor a, Tensor b)
    {
        int r = Math.Max(a.Rank, b.Rank);
        var shape = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Rank) >= 0 ? a.Shape[i - (r - a.Rank)] : 1;
            int db = i - (r - b.Rank) >= 0 ? b.Shape[i - (r - b.Rank)] : 1;
            if (da != db && da != 1 && db != 1)
                throw ShapeCheck.Fail(op, "shapes cannot be broadcast together", a, b);
            shape[i] = da == 1 ? db : da;
        }
        return shape;
    }

    /// <summary>Element strides of <paramref name="shape"/> seen through <paramref name="outShape"/> (0 where broadcast).</summary>
    public static int[] Strides(ReadOnlySpan<int> shape, int[] outShape)
    {
        int r = outShape.Length;
        var strides = new int[r];
        int s = 1;
        for (int i = r - 1; i >= 0; i--)
        {
            int j = i - (r - shape.Length);
            int d = j >= 0 ? shape[j] : 1;
            strides[i] = d == 1 ? 0 : s;
            s *= d;
        }
        return strides;
    }

    /// <summary>
    /// Visits the output row by row (a row = the last dimension): calls
    /// visit(outOffset, aOffset, bOffset) with aStride/bStride of the last dimension fixed.
    /// </summary>
    public static void ForEachRow(int[] outShape, int[] aStrides, int[] bStrides, Action<int, int, int> visit)
    {
        int r = outShape.Length;
        if (r == 0) { visit(0, 0, 0); return; }
        int inner = outShape[r - 1];
        int rows = inner == 0 ? 0 : Tensor.CheckedLength(outShape) / inner;
        Span<int> idx = stackalloc int[r];
        int ao = 0, bo = 0;
        for (int row = 0; row < rows; row++)
        {
            visit(row * inner, ao, bo);
            // odometer over dimensions 0..r-2
            for (int d = r - 2; d >= 0; d--)
            {
                idx[d]++;
                ao += aStrides[d];
                bo += bStrides[d];
                if (idx[d] < outShape[d]) break;
                ao -= aStrides[d] * outShape[d];
                bo -= bStrides[d] * outShape[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>Adds <paramref name="grad"/> (of shape outShape) into <paramref name="target"/> (of a shape that broadcasts to it), summing over stretched dimensions.</summary>
    public static void SumInto(ReadOnlySpan<float> grad, int[] outShape, Span<float> target, ReadOnlySpan<int> targetShape)
    {
        if (target.Length == grad.Length)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(target, grad, target);
            return;
        }
        var ts = Strides(targetShape, outShape);
        int r = outShape.Length;
        int inner = outShape[r - 1];
        int innerStride = ts[r - 1];
        int rows = inner == 0 ? 0 : grad.Length / inner;
        Span<int> idx = stackalloc int[r];
        int to = 0;
        for (int row = 0; row < rows; row++)
        {
            var g = grad.Slice(row * inner, inner);
            if (innerStride == 0) target[to] += System.Numerics.Tensors.TensorPrimitives.Sum(g);
            else
            {
                var t = target.Slice(to, inner);
                System.Numerics.Tensors.TensorPrimitives.Add(t, g, t);
            }
            for (int d = r - 2; d >= 0; d--)
            {
                idx[d]++;
                to += ts[d];
                if (idx[d] < outShape[d]) break;
                to -= ts[d] * outShape[d];
                idx[d] = 0;
            }
        }
    }
}
