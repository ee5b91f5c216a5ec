using System.Numerics.Tensors;
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
        int blocks = (x.Length + Block - 1) / Block;
        int n = x.Length;
        RowParallel.For(blocks, Block * 20, (s, e) =>
        {
            for (int blk = s; blk < e; blk++)
            {
                int start = blk * Block, len = Math.Min(Block, n - start);
                ActivationForward(kind, xb.AsSpan(xo + start, len), yb.AsSpan(yo + start, len));
            }
        });
        if (Tape.Needs(x)) Tape.Record(new ActivationNode(kind, x), y);
        return y;
    }

    static void ActivationForward(Activation kind, ReadOnlySpan<float> x, Span<float> y)
    {
        switch (kind)
        {
            case Activation.GeluTanh:
                // y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
                TensorPrimitives.Multiply(x, x, y);
                TensorPrimitives.Multiply(y, GeluCoef, y);
                TensorPrimitives.Add(y, 1f, y);
                TensorPrimitives.Multiply(y, x, y);
                TensorPrimitives.Multiply(y, Sqrt2OverPi, y);
                TensorPrimitives.Tanh(y, y);
                TensorPrimitives.Add(y, 1f, y);
                TensorPrimitives.Multiply(y, x, y);
                TensorPrimitives.Multiply(y, 0.5f, y);
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

    /// <summary>gx += dy·f'(x), where f' is recomputed from x (and y where cheaper).</summary>
    static void ActivationBackward(Activation kind, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> gx, Span<float> scratch)
    {
        switch (kind)
        {
            case Activation.GeluTanh:
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i], v2 = v * v;
                    float t = MathF.Tanh(Sqrt2OverPi * (v + GeluCoef * v * v2));
                    float dt = (1f - t * t) * Sqrt2OverPi * (1f + 3f * GeluCoef * v2);
                    gx[i] += dy[i] * (0.5f * (1f + t) + 0.5f * v * dt);
                }
                break;
            case Activation.GeluErf:
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i];
                    float cdf = 0.5f * (1f + SpecialFunctions.Erf(v * 0.70710678118654752f));
                    float pdf = 0.3989422804014327f * MathF.Exp(-0.5f * v * v);
                    gx[i] += dy[i] * (cdf + v * pdf);
                }
                break;
            case Activation.Silu:
                // s(1 + x(1 - s))
                TensorPrimitives.Sigmoid(x, scratch);
                for (int i = 0; i < x.Length; i++)
                {
                    float s = scratch[i];
                    gx[i] += dy[i] * s * (1f + x[i] * (1f - s));
                }
                break;
            case Activation.Relu:
                for (int i = 0; i < x.Length; i++) if (x[i] > 0f) gx[i] += dy[i];
                break;
            case Activation.Tanh:
                for (int i = 0; i < x.Length; i++) gx[i] += dy[i] * (1f - y[i] * y[i]);
                break;
            case Activation.Sigmoid:
                for (int i = 0; i < x.Length; i++) gx[i] += dy[i] * y[i] * (1f - y[i]);
                break;
        }
    }

    sealed class ActivationNode(Activation kind, Tensor x) : Node
    {
        protected internal override void Backward()
        {
            var xb = x.Buffer; int xo = x.Offset;
            var y = Output; var yb = y.Buffer; int yo = y.Offset;
            var g = y.Grad!; var gb = g.Buffer; int go = g.Offset;
            x.GradSpan();
            var gxT = x.Grad!; var gxb = gxT.Buffer; int gxo = gxT.Offset;
            int n = x.Length;
            int blocks = (n + Block - 1) / Block;
            RowParallel.For(blocks, Block * 20, (s, e) =>
            {
                float[]? scratch = kind == Activation.Silu ? new float[Block] : null;
                for (int blk = s; blk < e; blk++)
                {
                    int start = blk * Block, len = Math.Min(Block, n - start);
                    ActivationBackward(kind, xb.AsSpan(xo + start, len), yb.AsSpan(yo + start, len),
                        gb.AsSpan(go + start, len), gxb.AsSpan(gxo + start, len), scratch is null ? default : scratch.AsSpan(0, len));
                }
            });
        }
    }
}
