using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Softmax and log-softmax over the last dimension, row-parallel.</summary>
public static partial class Functional
{
    // x: [.., V] -> [.., V]
    public static Tensor Softmax(Tensor x) => SoftmaxCore(x, log: false);
    public static Tensor LogSoftmax(Tensor x) => SoftmaxCore(x, log: true);

    static Tensor SoftmaxCore(Tensor x, bool log)
    {
        ShapeCheck.MinRank(log ? "LogSoftmax" : "Softmax", x, 1);
        int v = x.Size(-1), rows = v == 0 ? 0 : x.Length / v;
        var y = x.EmptyLike();
        var xb = x.Buffer; int xo = x.Offset; var yb = y.Buffer; int yo = y.Offset;
        RowParallel.For(rows, 4L * v, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var xr = xb.AsSpan(xo + r * v, v); var yr = yb.AsSpan(yo + r * v, v);
                if (log) LogSoftmaxRow(xr, yr); else SoftmaxRow(xr, yr);
            }
        });
        if (Tape.Needs(x)) Tape.Record(new SoftmaxNode(x, log, v, rows), y);
        return y;
    }

    /// <summary>y = exp(x - max) / Σ exp(x - max); an all -∞ row gives zeros.</summary>
    internal static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max)) { y.Clear(); return; }
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
    }

    /// <summary>y = x - max - log Σ exp(x - max); returns the log-sum-exp.</summary>
    internal static float LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        float lse = max + MathF.Log(TensorPrimitives.Sum(y));
        TensorPrimitives.Subtract(x, lse, y);
        return lse;
    }

    sealed class SoftmaxNode(Tensor x, bool log, int v, int rows) : Node
    {
        // softmax: gx = y ⊙ (g - ⟨g, y⟩);  log-softmax: gx = g - exp(y) Σ g
        protected internal override void Backward()
        {
            var y = Output; var yb = y.Buffer; int yo = y.Offset;
            var g = y.Grad!; var gb = g.Buffer; int go = g.Offset;
            x.GradSpan();
            var gx = x.Grad!; var gxb = gx.Buffer; int gxo = gx.Offset;
            RowParallel.For(rows, 4L * v, (s, e) =>
            {
                for (int r = s; r < e; r++)
                {
                    var yr = yb.AsSpan(yo + r * v, v); var gr = gb.AsSpan(go + r * v, v); var dst = gxb.AsSpan(gxo + r * v, v);
                    if (log)
                    {
                        float sum = TensorPrimitives.Sum(gr);
                        for (int i = 0; i < v; i++) dst[i] += gr[i] - MathF.Exp(yr[i]) * sum;
                    }
                    else
                    {
                        float dot = TensorPrimitives.Dot(gr, yr);
                        for (int i = 0; i < v; i++) dst[i] += yr[i] * (gr[i] - dot);
                    }
                }
            });
        }
    }
}
