using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Cross-entropy fused with log-softmax: the logits' gradient is (softmax - onehot)/count, computed in one pass.</summary>
public static partial class Functional
{
    public const int IgnoreIndex = -100;

    // logits: [N, V], targets: N ids (or ignoreIndex) -> [] mean loss over counted targets
    // With reuseLogitsForGrad the logits' storage receives their gradient in backward (saves a [N,V] buffer);
    // the logits must then not be read after backward.
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, int ignoreIndex = IgnoreIndex, bool reuseLogitsForGrad = false)
    {
        ShapeCheck.MinRank("CrossEntropy", logits, 1, "logits");
        int v = logits.Size(-1), n = v == 0 ? 0 : logits.Length / v;
        if (targets.Length != n)
            throw new ShapeMismatchException($"CrossEntropy: {targets.Length} targets for logits of shape {Tensor.Format(logits.Shape)} ({n} rows).");
        int[] t = targets.ToArray();
        int counted = 0;
        for (int i = 0; i < n; i++)
        {
            if (t[i] == ignoreIndex) continue;
            if ((uint)t[i] >= (uint)v) throw new ArgumentOutOfRangeException(nameof(targets), $"CrossEntropy: target {t[i]} at row {i} is outside the vocabulary of {v} (and is not the ignore index {ignoreIndex}).");
            counted++;
        }
        var lse = new float[n];
        var lb = logits.Buffer; int lo = logits.Offset;
        var rowLoss = new double[n];
        RowParallel.For(n, 3L * v, (s, e) =>
        {
            Span<float> tmp = stackalloc float[256];
            for (int r = s; r < e; r++)
            {
                if (t[r] == ignoreIndex) continue;
                var row = lb.AsSpan(lo + r * v, v);
                float max = TensorPrimitives.Max(row);
                // Σ exp(x - max) without a scratch row: TensorPrimitives has no fused form, so go in chunks.
                double sum = 0;
                for (int i = 0; i < v; i += 256)
                {
                    var chunk = row.Slice(i, Math.Min(256, v - i));
                    var tc = tmp[..chunk.Length];
                    TensorPrimitives.Subtract(chunk, max, tc);
                    TensorPrimitives.Exp(tc, tc);
                    sum += TensorPrimitives.Sum(tc);
                }
                lse[r] = max + (float)Math.Log(sum);
                rowLoss[r] = lse[r] - row[t[r]];
            }
        });
        double total = 0;
        for (int i = 0; i < n; i++) total += rowLoss[i];
        var loss = Tensor.Scalar(counted == 0 ? float.NaN : (float)(total / counted));
        if (Tape.Needs(logits)) Tape.Record(new CrossEntropyNode(logits, t, lse, ignoreIndex, counted, v, reuseLogitsForGrad), loss);
        return loss;
    }

    sealed class CrossEntropyNode(Tensor logits, int[] targets, float[] lse, int ignoreIndex, int counted, int v, bool reuse) : Node
    {
        protected internal override void Backward()
        {
            float scale = Output.Grad!.Span[0] / Math.Max(1, counted);
            // In-place: the logits buffer becomes the gradient (only valid when nothing else needs the logits).
            if (reuse && logits.Grad is null && !logits.IsLeaf) logits.Grad = logits.Detach();
            bool overwrite = reuse && ReferenceEquals(logits.Grad?.Buffer, logits.Buffer);
            var lb = logits.Buffer; int lo = logits.Offset;
            logits.GradSpan();
            var g = logits.Grad!; var gb = g.Buffer; int go = g.Offset;
            int n = targets.Length;
            RowParallel.For(n, 3L * v, (s, e) =>
            {
                Span<float> tmp = stackalloc float[256];
                for (int r = s; r < e; r++)
                {
                    var grow = gb.AsSpan(go + r * v, v);
                    if (targets[r] == ignoreIndex) { if (overwrite) grow.Clear(); continue; }
                    var row = lb.AsSpan(lo + r * v, v);
                    if (overwrite)
                    {
                        // g = scale·exp(x - lse), in place
                        TensorPrimitives.Subtract(row, lse[r], grow);
                        TensorPrimitives.Exp(grow, grow);
                        TensorPrimitives.Multiply(grow, scale, grow);
                    }
                    else
                    {
                        for (int i = 0; i < v; i += 256)
                        {
                            int len = Math.Min(256, v - i);
                            var tc = tmp[..len];
                            TensorPrimitives.Subtract(row.Slice(i, len), lse[r], tc);
                            TensorPrimitives.Exp(tc, tc);
                            var gc = grow.Slice(i, len);
                            TensorPrimitives.MultiplyAdd(tc, scale, gc, gc);
                        }
                    }
                    grow[targets[r]] -= scale;
                }
            });
        }
    }
}
