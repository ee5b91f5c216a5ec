using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Broadcasting elementwise add, sub, mul, div: forward and backward side by side.</summary>
public static partial class Functional
{
    internal enum BinaryKind { Add, Sub, Mul, Div }

    // a: [..] b: [..] (broadcastable) -> broadcast shape
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryKind.Add, "Add", a, b);
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryKind.Sub, "Sub", a, b);
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryKind.Mul, "Mul", a, b);
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryKind.Div, "Div", a, b);

    static Tensor Binary(BinaryKind kind, string op, Tensor a, Tensor b)
    {
        int[] shape = Broadcast.Shape(op, a, b);
        var y = Tensor.Uninitialized(shape);
        var ab = a.Buffer; int aOff = a.Offset;
        var bb = b.Buffer; int bOff = b.Offset;
        var yb = y.Buffer; int yOff = y.Offset;
        if (a.Length == y.Length && b.Length == y.Length)
        {
            int n = y.Length;
            ElementBlocks(n, (start, len) => BinaryRow(kind, ab.AsSpan(aOff + start, len), 1, bb.AsSpan(bOff + start, len), 1, yb.AsSpan(yOff + start, len)));
        }
        else
        {
            int[] aS = Broadcast.Strides(a.Shape, shape), bS = Broadcast.Strides(b.Shape, shape);
            int inner = shape.Length == 0 ? 1 : shape[^1];
            int aInner = shape.Length == 0 ? 1 : aS[^1], bInner = shape.Length == 0 ? 1 : bS[^1];
            Broadcast.ForEachRow(shape, aS, bS, (yo, ao, bo) =>
                BinaryRow(kind, ab.AsSpan(aOff + ao, aInner == 0 ? 1 : inner), aInner,
                    bb.AsSpan(bOff + bo, bInner == 0 ? 1 : inner), bInner, yb.AsSpan(yOff + yo, inner)));
        }
        if (Tape.Needs(a, b)) Tape.Record(new BinaryNode(kind, a, b), y);
        return y;
    }

    const int ElementBlock = 16_384;   // floats a task takes at once in a same-shape elementwise op (64 KiB)

    /// <summary>
    /// body(start, length) over [0, n) in blocks of <see cref="ElementBlock"/>, as parallel tasks when there are
    /// several blocks (a residual stream of 1,856 × 256 floats is 29).
    /// </summary>
    static void ElementBlocks(int n, Action<int, int> body) => Kernels.RowParallel.ForBlocks(n, ElementBlock, 2L * ElementBlock, body);

    /// <summary>y = a ∘ b over one row; a stride of 0 means that operand is one broadcast value.</summary>
    static void BinaryRow(BinaryKind kind, ReadOnlySpan<float> a, int aStride, ReadOnlySpan<float> b, int bStride, Span<float> y)
    {
        if (aStride == 0 && bStride == 0)
        {
            y.Fill(Apply(kind, a[0], b[0]));
            return;
        }
        switch (kind)
        {
            case BinaryKind.Add:
                if (aStride == 0) TensorPrimitives.Add(b, a[0], y);
                else if (bStride == 0) TensorPrimitives.Add(a, b[0], y);
                else TensorPrimitives.Add(a, b, y);
                break;
            case BinaryKind.Sub:
                if (aStride == 0) { TensorPrimitives.Negate(b, y); TensorPrimitives.Add(y, a[0], y); }
                else if (bStride == 0) TensorPrimitives.Subtract(a, b[0], y);
                else TensorPrimitives.Subtract(a, b, y);
                break;
            case BinaryKind.Mul:
                if (aStride == 0) TensorPrimitives.Multiply(b, a[0], y);
                else if (bStride == 0) TensorPrimitives.Multiply(a, b[0], y);
                else TensorPrimitives.Multiply(a, b, y);
                break;
            case BinaryKind.Div:
                if (aStride == 0) { for (int i = 0; i < y.Length; i++) y[i] = a[0] / b[i]; }
                else if (bStride == 0) TensorPrimitives.Divide(a, b[0], y);
                else TensorPrimitives.Divide(a, b, y);
                break;
        }
    }

    static float Apply(BinaryKind kind, float a, float b) => kind switch
    {
        BinaryKind.Add => a + b,
        BinaryKind.Sub => a - b,
        BinaryKind.Mul => a * b,
        _ => a / b,
    };

    sealed class BinaryNode(BinaryKind kind, Tensor a, Tensor b) : Node
    {
        // dy -> da = dy·∂y/∂a, db = dy·∂y/∂b, each summed back over its broadcast dimensions.
        protected internal override void Backward()
        {
            var g = Output.Grad!;
            int[] shape = g.Shape.ToArray();
            if (a.RequiresGrad) AddGrad(a, Partial(g, a, b, wrtA: true), shape);
            if (b.RequiresGrad) AddGrad(b, Partial(g, a, b, wrtA: false), shape);
        }

        static void AddGrad(Tensor t, Tensor grad, int[] shape)
        {
            if (t.Length == grad.Length)
            {
                t.GradSpanForWrite(out bool overwrite);
                var gt = t.Grad!; var gtb = gt.Buffer; int gto = gt.Offset;
                var gb = grad.Buffer; int go = grad.Offset;
                ElementBlocks(grad.Length, overwrite
                    ? (start, len) => gb.AsSpan(go + start, len).CopyTo(gtb.AsSpan(gto + start, len))
                    : (start, len) => TensorPrimitives.Add(gtb.AsSpan(gto + start, len), gb.AsSpan(go + start, len), gtb.AsSpan(gto + start, len)));
                return;
            }
            Broadcast.SumInto(grad.Span, shape, t.GradSpan(), t.Shape);
        }

        /// <summary>dy scaled by the partial derivative, at the output's shape.</summary>
        Tensor Partial(Tensor g, Tensor a, Tensor b, bool wrtA)
        {
            switch (kind)
            {
                case BinaryKind.Add: return g;
                case BinaryKind.Sub:
                    if (wrtA) return g;
                    var neg = g.EmptyLike(); TensorPrimitives.Negate(g.Span, neg.Span); return neg;
                case BinaryKind.Mul:
                    // d(a·b)/da = b
                    return Mul(g, wrtA ? b : a);
                default:
                    if (wrtA) return Div(g, b);
                    // d(a/b)/db = -a/b² = -y/b
                    var t = Div(Mul(g, Output), b);
                    TensorPrimitives.Negate(t.Span, t.Span);
                    return t;
            }
        }
    }

    // x: [..] -> [..], y = s·x
    public static Tensor Scale(Tensor x, float s)
    {
        var y = x.EmptyLike();
        TensorPrimitives.Multiply(x.Span, s, y.Span);
        if (Tape.Needs(x)) Tape.Record(new ScaleNode(x, s), y);
        return y;
    }

    sealed class ScaleNode(Tensor x, float s) : Node
    {
        protected internal override void Backward()
        {
            var gx = x.GradSpan();
            TensorPrimitives.MultiplyAdd(Output.Grad!.Span, s, gx, gx);
        }
    }

    // x: [..] -> [..], y = x + s
    public static Tensor AddScalar(Tensor x, float s)
    {
        var y = x.EmptyLike();
        TensorPrimitives.Add(x.Span, s, y.Span);
        if (Tape.Needs(x)) Tape.Record(new PassThroughNode(x), y);
        return y;
    }

    /// <summary>Backward of ops whose gradient is the identity at the same shape (add-scalar, reshape).</summary>
    sealed class PassThroughNode(Tensor x) : Node
    {
        protected internal override void Backward()
        {
            var gx = x.GradSpanForWrite(out bool overwrite);
            if (overwrite) Output.Grad!.Span.CopyTo(gx);
            else TensorPrimitives.Add(gx, Output.Grad!.Span, gx);
        }
    }
}
