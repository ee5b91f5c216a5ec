using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// Gumbel-softmax (Jang et al.) with the straight-through estimator: the forward value may be the
/// one-hot argmax while the gradient is that of y_soft = softmax((logits + g)/τ).
/// </summary>
public static partial class Functional
{
    // logits: [.., V] -> [.., V], with fresh Gumbel(0,1) noise from rng
    public static Tensor GumbelSoftmax(Tensor logits, float tau, bool hard, Rng rng) =>
        GumbelSoftmax(logits, tau, hard, GumbelNoise(rng, logits.Shape.ToArray()));

    // -> Gumbel(0, 1) noise of the shape, g = -log(-log u) with u ∈ (0, 1) from rng (kept apart when the caller must keep or reuse it)
    public static Tensor GumbelNoise(Rng rng, params int[] shape)
    {
        var noise = Tensor.Uninitialized(shape);   // every element written below
        var ns = noise.Span;
        for (int i = 0; i < ns.Length; i++)
        {
            double u = Math.Max(rng.NextDouble(), 1e-20);
            ns[i] = (float)-Math.Log(-Math.Log(u) + 1e-20);
        }
        return noise;
    }

    // logits, noise: [.., V] -> [.., V]
    public static Tensor GumbelSoftmax(Tensor logits, float tau, bool hard, Tensor noise)
    {
        ShapeCheck.Same("GumbelSoftmax", logits, noise);
        if (!(tau > 0f)) throw new ArgumentOutOfRangeException(nameof(tau), $"GumbelSoftmax temperature must be positive, got {tau}.");
        int v = logits.Size(-1), rows = v == 0 ? 0 : logits.Length / v;
        var soft = logits.EmptyLike();
        var ls = logits.Span; var ns = noise.Span; var ss = soft.Span;
        for (int i = 0; i < ss.Length; i++) ss[i] = (ls[i] + ns[i]) / tau;
        for (int r = 0; r < rows; r++) SoftmaxRow(ss.Slice(r * v, v), ss.Slice(r * v, v));
        Tensor y = soft;
        if (hard)
        {
            y = Tensor.Zeros(logits.Shape.ToArray());
            var ys = y.Span;
            for (int r = 0; r < rows; r++)
                ys[r * v + System.Numerics.Tensors.TensorPrimitives.IndexOfMax(ss.Slice(r * v, v))] = 1f;
        }
        if (Tape.Needs(logits)) Tape.Record(new GumbelNode(logits, soft, tau, v), y);
        return y;
    }

    sealed class GumbelNode(Tensor logits, Tensor soft, float tau, int v) : Node
    {
        // Straight-through: dy reaches y_soft unchanged; softmax backward, then 1/τ.
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span; var ys = soft.Span; var gx = logits.GradSpan();
            int rows = ys.Length / v;
            for (int r = 0; r < rows; r++)
            {
                var yr = ys.Slice(r * v, v); var gr = g.Slice(r * v, v); var dst = gx.Slice(r * v, v);
                float dot = System.Numerics.Tensors.TensorPrimitives.Dot(gr, yr);
                for (int i = 0; i < v; i++) dst[i] += yr[i] * (gr[i] - dot) / tau;
            }
        }
    }
}
