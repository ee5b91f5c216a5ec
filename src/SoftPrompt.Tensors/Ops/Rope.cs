using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// Rotary position embedding in Hugging Face's rotate-half convention: within each head the
/// pair (x[i], x[i + hd/2]) is rotated by angle pos·invFreq[i].
/// </summary>
public static partial class Functional
{
    // x: [B, T, H·hd], invFreq: hd/2, positions: B·T -> [B, T, H·hd]
    // y[i] = x[i]·cos − x[i+½]·sin,  y[i+½] = x[i+½]·cos + x[i]·sin
    public static Tensor Rope(Tensor x, int heads, ReadOnlySpan<float> invFreq, ReadOnlySpan<int> positions)
    {
        ShapeCheck.Rank("Rope", x, 3);
        int b = x.Shape[0], t = x.Shape[1];
        if (heads <= 0 || x.Shape[2] % heads != 0) throw ShapeCheck.Fail("Rope", $"width is not divisible by {heads} heads", x);
        int hd = x.Shape[2] / heads, half = hd / 2;
        if (hd % 2 != 0 || invFreq.Length != half)
            throw new ShapeMismatchException($"Rope: head dim {hd} needs {hd / 2} inverse frequencies (even head dim), got {invFreq.Length}; input {Tensor.Format(x.Shape)}.");
        if (positions.Length != b * t)
            throw new ShapeMismatchException($"Rope: {positions.Length} positions for input {Tensor.Format(x.Shape)} (need B·T = {b * t}).");
        // cos/sin table per (row, i), computed in double like HF's float32 of (pos·invFreq) then cos.
        var cos = new float[b * t * half];
        var sin = new float[b * t * half];
        for (int r = 0; r < b * t; r++)
            for (int i = 0; i < half; i++)
            {
                float angle = positions[r] * invFreq[i];
                cos[r * half + i] = MathF.Cos(angle);
                sin[r * half + i] = MathF.Sin(angle);
            }
        var y = x.EmptyLike();
        Rotate(x.Buffer, x.Offset, y.Buffer, y.Offset, b * t, heads, hd, cos, sin, inverse: false, accumulate: false);
        if (Tape.Needs(x)) Tape.Record(new RopeNode(x, heads, hd, cos, sin), y);
        return y;
    }

    /// <summary>Applies the rotation (or its inverse, the transpose) to every head of every row.</summary>
    static void Rotate(float[] src, int so, float[] dst, int d0, int rows, int heads, int hd, float[] cos, float[] sin, bool inverse, bool accumulate)
    {
        int half = hd / 2, width = heads * hd;
        float sign = inverse ? -1f : 1f;
        RowParallel.For(rows, 6L * width, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var c = cos.AsSpan(r * half, half); var sn = sin.AsSpan(r * half, half);
                for (int h = 0; h < heads; h++)
                {
                    int o = r * width + h * hd;
                    for (int i = 0; i < half; i++)
                    {
                        float a = src[so + o + i], bb = src[so + o + half + i];
                        float y1 = a * c[i] - sign * bb * sn[i];
                        float y2 = bb * c[i] + sign * a * sn[i];
                        if (accumulate) { dst[d0 + o + i] += y1; dst[d0 + o + half + i] += y2; }
                        else { dst[d0 + o + i] = y1; dst[d0 + o + half + i] = y2; }
                    }
                }
            }
        });
    }

    sealed class RopeNode(Tensor x, int heads, int hd, float[] cos, float[] sin) : Node
    {
        // A rotation's gradient is the inverse rotation of dy.
        protected internal override void Backward()
        {
            var g = Output.Grad!;
            x.GradSpan();
            Rotate(g.Buffer, g.Offset, x.Grad!.Buffer, x.Grad.Offset, x.Shape[0] * x.Shape[1], heads, hd, cos, sin, inverse: true, accumulate: true);
        }
    }
}
