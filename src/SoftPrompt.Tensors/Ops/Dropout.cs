using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// Inverted dropout with a seeded, counter-based mask: element i is kept when Hash(key, i) ≥ p,
/// so the mask depends only on the key, not on threads, and backward recomputes it instead of storing it.
/// </summary>
public static partial class Functional
{
    // x: [..] -> [..]; identity when p == 0 or not training
    public static Tensor Dropout(Tensor x, float p, Rng rng, bool training = true)
    {
        if (p < 0f || p >= 1f) throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1), got {p}.");
        if (!training || p == 0f) return x;
        ulong key = rng.NextUInt64();
        var y = x.EmptyLike();
        ApplyMask(x.Buffer, x.Offset, y.Buffer, y.Offset, x.Length, key, p, accumulate: false);
        if (Tape.Needs(x)) Tape.Record(new DropoutNode(x, key, p), y);
        return y;
    }

    static void ApplyMask(float[] src, int so, float[] dst, int d0, int n, ulong key, float p, bool accumulate)
    {
        float scale = 1f / (1f - p);
        RowParallel.For(n, 16, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float v = Rng.Hash(key, i) >= p ? src[so + i] * scale : 0f;
                if (accumulate) dst[d0 + i] += v; else dst[d0 + i] = v;
            }
        });
    }

    sealed class DropoutNode(Tensor x, ulong key, float p) : Node
    {
        protected internal override void Backward()
        {
            var g = Output.Grad!;
            x.GradSpan();
            ApplyMask(g.Buffer, g.Offset, x.Grad!.Buffer, x.Grad.Offset, x.Length, key, p, accumulate: true);
        }
    }
}
