using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Pointwise activations: GELU (tanh and erf), SiLU, ReLU, tanh, sigmoid. Row-parallel in blocks.</summary>
public static partial class Functional
{
    public enum Activation { GeluTanh, GeluErf, Silu, Relu, Tanh, Sigmoid }

    const float Sqrt2OverPi = 0.7978845608028654f;
    const float GeluCoef = 0.044715f;
    const int Block = 4096; // elements a task handles at a time: keeps its scratch in L1/L2

    public static Tensor Gelu(Tensor x, bool approximateTanh = true) => Activate(x, approximateTanh ? Activation.GeluTanh : Activation.GeluErf);
    public static Tensor Silu(Tensor x) => Activate(x, Activation.Silu);
    public static Tensor Relu(Tensor x) => Activate(x, Activation.Relu);
    public static Tensor Tanh(Tensor x) => Activate(x, Activation.Tanh);
    public static Tensor Sigmoid(Tensor x) => Activate(x, Activation.Sigmoid);

    // x: [..] -> [..]
    public static Tensor Activate(Tensor x, Activation kind)
    {
        var y = x.EmptyLike();
        var xb = x.Buffer; int xo = x.Offset;
        var yb = y.Buffer; int yo = y.Offset;
        RowParallel.ForBlocks(x.Length, Block, Block * 20, (start, len) =>
            ActivationForward(kind, xb.AsSpan(xo + start, len), yb.AsSpan(yo + start, len)));
        if (Tape.Needs(x)) Tape.Record(new ActivationNode(kind, x), y);
        return y;
    }

    static void ActivationForward(Activation kind, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case Activation.GeluTanh:
                GeluTanhForward(x, y);
                break;
            case Activation.GeluErf:
                for (int i = 0; i < x.Length; i++) y[i] = 0.5f * x[i] * (1f + SpecialFunctions.Erf(x[i] * 0.70710678118654752f));
                break;
            case Activation.Silu:
                TensorPrimitives.Sigmoid(x, y);
                TensorPrimitives.Multiply(y, x, y);
                break;
            case Activation.Relu:
                TensorPrimitives.Max(x, 0f, y);
                break;
            case Activation.Tanh:
                TensorPrimitives.Tanh(x, y);
                break;
            case Activation.Sigmoid:
                TensorPrimitives.Sigmoid(x, y);
                break;
        }
    }

    /// <summary>gx += dy·f'(x) (or gx = … when overwriting), where f' is recomputed from x (and y where cheaper); a and b are scratch rows.</summary>
    static void ActivationBackward(Activation kind, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> gx, Span<float> a, Span<float> b, bool overwrite)
    {
        switch (kind)
        {
            case Activation.GeluTanh:
                GeluTanhBackward(x, dy, gx, overwrite);
                return;
            case Activation.GeluErf:
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i];
                    float cdf = 0.5f * (1f + SpecialFunctions.Erf(v * 0.70710678118654752f));
                    float pdf = 0.3989422804014327f * MathF.Exp(-0.5f * v * v);
                    a[i] = cdf + v * pdf;
                }
                break;
            case Activation.Silu:
                // s(1 + x(1 − s))
                TensorPrimitives.Sigmoid(x, a);
                TensorPrimitives.Subtract(1f, a, b);
                TensorPrimitives.MultiplyAdd(x, b, 1f, b);
                TensorPrimitives.Multiply(a, b, a);
                break;
            case Activation.Relu:
                for (int i = 0; i < x.Length; i++) a[i] = x[i] > 0f ? 1f : 0f;
                break;
            case Activation.Tanh:
                // 1 − y²
                TensorPrimitives.Multiply(y, y, a);
                TensorPrimitives.Subtract(1f, a, a);
                break;
            case Activation.Sigmoid:
                // y(1 − y)
                TensorPrimitives.Subtract(1f, y, a);
                TensorPrimitives.Multiply(a, y, a);
                break;
        }
        if (overwrite) TensorPrimitives.Multiply(dy, a, gx);
        else TensorPrimitives.MultiplyAdd(dy, a, gx, gx);
    }

    // GELU (tanh form) in one pass, 8 lanes at a time: u = √(2/π)·x·(1 + k·x²), t = tanh(u),
    // y = ½x(1 + t);  f' = ½(1 + t) + ½x·(1 − t²)·√(2/π)·(1 + 3k·x²). One pass instead of nine over the block:
    // the separate TensorPrimitives passes cost more than the arithmetic. With e = e^{2u} and r = 1/(e + 1):
    // ½(1 + t) = e·r and 1 − t² = 4·e·r², which keep their relative precision where t is near −1 (forming
    // 1 + t from t loses it); u is capped at 15 (tanh(15) is 1 in float) so that e stays finite.
    // With AVX-512 the same arithmetic runs 16 lanes at a time first (the same bits: lane by lane, Vector512.Exp is Vector256.Exp).
    static void GeluTanhForward(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x); ref float yr = ref MemoryMarshal.GetReference(y);
            for (; i + 16 <= x.Length; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                var (e, r) = GeluExp(v, v * v);
                (v * e * r).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x); ref float yr = ref MemoryMarshal.GetReference(y);
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var (e, r) = GeluExp(v, v * v);
                (v * e * r).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            y[i] = 0.5f * v * (1f + MathF.Tanh(Sqrt2OverPi * v * (1f + GeluCoef * v * v)));
        }
    }

    static void GeluTanhBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> gx, bool overwrite)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x); ref float dr = ref MemoryMarshal.GetReference(dy); ref float gr = ref MemoryMarshal.GetReference(gx);
            var one = Vector512<float>.One;
            for (; i + 16 <= x.Length; i += 16)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                var v2 = v * v;
                var (e, r) = GeluExp(v, v2);
                var slope = Vector512.Create(2f * Sqrt2OverPi) * v * Vector512.FusedMultiplyAdd(Vector512.Create(3f * GeluCoef), v2, one);
                var er = e * r;
                var d = Vector512.FusedMultiplyAdd(slope * er, r, er);
                var g = Vector512.LoadUnsafe(ref dr, (nuint)i) * d;
                if (!overwrite) g += Vector512.LoadUnsafe(ref gr, (nuint)i);
                g.StoreUnsafe(ref gr, (nuint)i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x); ref float dr = ref MemoryMarshal.GetReference(dy); ref float gr = ref MemoryMarshal.GetReference(gx);
            var one = Vector256<float>.One;
            for (; i + 8 <= x.Length; i += 8)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var v2 = v * v;
                var (e, r) = GeluExp(v, v2);
                var slope = Vector256.Create(2f * Sqrt2OverPi) * v * Vector256.FusedMultiplyAdd(Vector256.Create(3f * GeluCoef), v2, one);
                var er = e * r;
                var d = Vector256.FusedMultiplyAdd(slope * er, r, er);   // ½(1 + t) + ½x·√(2/π)(1 + 3k·x²)·4·e·r²
                var g = Vector256.LoadUnsafe(ref dr, (nuint)i) * d;
                if (!overwrite) g += Vector256.LoadUnsafe(ref gr, (nuint)i);
                g.StoreUnsafe(ref gr, (nuint)i);
            }
        }
        for (; i < x.Length; i++)
        {
            float v = x[i];
            float t = MathF.Tanh(Sqrt2OverPi * v * (1f + GeluCoef * v * v));
            float d = 0.5f * (1f + t) + 0.5f * Sqrt2OverPi * v * (1f + 3f * GeluCoef * v * v) * (1f - t * t);
            gx[i] = overwrite ? dy[i] * d : gx[i] + dy[i] * d;
        }
    }

    // (e^{2u}, 1/(e^{2u} + 1)) for u = √(2/π)·x·(1 + k·x²), u capped at 15.
    static (Vector256<float> E, Vector256<float> R) GeluExp(Vector256<float> x, Vector256<float> x2)
    {
        var u = Vector256.Create(Sqrt2OverPi) * x * Vector256.FusedMultiplyAdd(Vector256.Create(GeluCoef), x2, Vector256<float>.One);
        var e = Vector256.Exp(Vector256.Min(u + u, Vector256.Create(30f)));
        return (e, Vector256<float>.One / (e + Vector256<float>.One));
    }

    static (Vector512<float> E, Vector512<float> R) GeluExp(Vector512<float> x, Vector512<float> x2)
    {
        var u = Vector512.Create(Sqrt2OverPi) * x * Vector512.FusedMultiplyAdd(Vector512.Create(GeluCoef), x2, Vector512<float>.One);
        var e = Vector512.Exp(Vector512.Min(u + u, Vector512.Create(30f)));
        return (e, Vector512<float>.One / (e + Vector512<float>.One));
    }

    [ThreadStatic] static float[]? _activationScratch;
    static float[] ActivationScratch => _activationScratch ??= new float[2 * Block];

    sealed class ActivationNode(Activation kind, Tensor x) : Node
    {
        protected internal override void Backward()
        {
            var xb = x.Buffer; int xo = x.Offset;
            var y = Output; var yb = y.Buffer; int yo = y.Offset;
            var g = y.Grad!; var gb = g.Buffer; int go = g.Offset;
            x.GradSpanForWrite(out bool overwrite);
            var gxT = x.Grad!; var gxb = gxT.Buffer; int gxo = gxT.Offset;
            RowParallel.ForBlocks(x.Length, Block, Block * 20, (start, len) =>
            {
                var scratch = ActivationScratch;
                ActivationBackward(kind, xb.AsSpan(xo + start, len), yb.AsSpan(yo + start, len),
                    gb.AsSpan(go + start, len), gxb.AsSpan(gxo + start, len), scratch.AsSpan(0, len), scratch.AsSpan(Block, len), overwrite);
            });
        }
    }
}
