using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Sum and mean, over one axis or over everything.</summary>
public static partial class Functional
{
    // x: [A.., D, B..] -> [A.., B..] (or [A.., 1, B..] with keepDim)
    public static Tensor Sum(Tensor x, int dim, bool keepDim = false) => ReduceAxis(x, dim, keepDim, mean: false);
    public static Tensor Mean(Tensor x, int dim, bool keepDim = false) => ReduceAxis(x, dim, keepDim, mean: true);

    // x: [..] -> []
    public static Tensor Sum(Tensor x) => ReduceAll(x, mean: false);
    public static Tensor Mean(Tensor x) => ReduceAll(x, mean: true);

    static Tensor ReduceAll(Tensor x, bool mean)
    {
        float s = TensorPrimitives.Sum(x.Span);
        var y = Tensor.FromArray([mean ? s / Math.Max(1, x.Length) : s], []);
        if (Tape.Needs(x)) Tape.Record(new ReduceAllNode(x, mean), y);
        return y;
    }

    sealed class ReduceAllNode(Tensor x, bool mean) : Node
    {
        protected internal override void Backward()
        {
            float g = Output.Grad!.Span[0];
            if (mean) g /= Math.Max(1, x.Length);
            var gx = x.GradSpan();
            TensorPrimitives.Add(gx, g, gx);
        }
    }

    /// <summary>Splits a shape around <paramref name="dim"/>: outer × size × inner.</summary>
    static (int Outer, int Size, int Inner) Around(Tensor x, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= x.Shape[i];
        for (int i = dim + 1; i < x.Rank; i++) inner *= x.Shape[i];
        return (outer, x.Shape[dim], inner);
    }

    static Tensor ReduceAxis(Tensor x, int dim, bool keepDim, bool mean)
    {
        dim = x.NormalizeDim(dim);
        var (outer, size, inner) = Around(x, dim);
        var shape = new List<int>(x.Shape.ToArray());
        if (keepDim) shape[dim] = 1; else shape.RemoveAt(dim);
        var y = Tensor.Zeros(shape.ToArray());
        var xs = x.Span; var ys = y.Span;
        for (int o = 0; o < outer; o++)
        {
            var yRow = ys.Slice(o * inner, inner);
            for (int k = 0; k < size; k++) TensorPrimitives.Add(yRow, xs.Slice((o * size + k) * inner, inner), yRow);
        }
        if (mean && size > 0) TensorPrimitives.Multiply(ys, 1f / size, ys);
        if (Tape.Needs(x)) Tape.Record(new ReduceAxisNode(x, dim, mean), y);
        return y;
    }

    sealed class ReduceAxisNode(Tensor x, int dim, bool mean) : Node
    {
        protected internal override void Backward()
        {
            var (outer, size, inner) = Around(x, dim);
            var g = Output.Grad!.Span;
            var gx = x.GradSpan();
            float scale = mean && size > 0 ? 1f / size : 1f;
            for (int o = 0; o < outer; o++)
            {
                var gRow = g.Slice(o * inner, inner);
                for (int k = 0; k < size; k++)
                {
                    var dst = gx.Slice((o * size + k) * inner, inner);
                    TensorPrimitives.MultiplyAdd(gRow, scale, dst, dst);
                }
            }
        }
    }
}
