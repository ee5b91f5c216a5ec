using System.Numerics.Tensors;

namespace SoftPrompt.Tensors.Optim;

public sealed record AdamWOptions(double Beta1 = 0.9, double Beta2 = 0.999, double Eps = 1e-8) : OptimizerOptions;

/// <summary>
/// Adam with decoupled weight decay, exactly PyTorch's <c>torch.optim.AdamW</c> (amsgrad off), per parameter p with gradient g at step t:
/// <code>
/// p ← p·(1 − lr·wd)                (with a group's weight-decay offset W: p ← p·(1 − lr·wd) − lr·wd·W)
/// m ← β1·m + (1 − β1)·g          v ← β2·v + (1 − β2)·g²
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)
/// </code>
/// Moments are state <c>exp_avg</c> and <c>exp_avg_sq</c>.
/// </summary>
public sealed class AdamW : Optimizer
{
    readonly float[][] _expAvg, _expAvgSq;

    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
        : this([new ParamGroup(parameters)], lr, new AdamWOptions(beta1, beta2, eps), weightDecay) { }

    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, AdamWOptions? defaults = null, double weightDecay = 1e-2)
        : base(groups, lr, weightDecay, defaults ?? new AdamWOptions())
    {
        _expAvg = new float[ParameterCount][];
        _expAvgSq = new float[ParameterCount][];
        for (int g = 0; g < Groups.Count; g++)
            for (int j = 0; j < Groups[g].Parameters.Count; j++)
            {
                int i = GlobalIndex(g, j), n = Groups[g].Parameters[j].Length;
                _expAvg[i] = AddState(i, "exp_avg", n);
                _expAvgSq[i] = AddState(i, "exp_avg_sq", n);
            }
    }

    protected override bool SupportsWeightDecayOffsets => true;

    public override void Step()
    {
        for (int g = 0; g < Groups.Count; g++)
        {
            var group = Groups[g];
            var o = (AdamWOptions)group.Options;
            // 1 − β in double, then rounded: (1f − 0.9f) is 0.100000024, not PyTorch's 0.1f.
            float beta1 = (float)o.Beta1, beta2 = (float)o.Beta2, eps = (float)o.Eps;
            float oneMinusBeta1 = (float)(1.0 - o.Beta1), oneMinusBeta2 = (float)(1.0 - o.Beta2);
            for (int j = 0; j < group.Parameters.Count; j++)
            {
                var p = group.Parameters[j];
                if (p.Grad is null) continue;
                int i = GlobalIndex(g, j);
                long step = ++Steps[i];
                // Scalars in double, as PyTorch computes them in Python, then rounded once for the float kernel.
                float decay = (float)(1.0 - group.Lr * group.WeightDecay), decayOffset = (float)(-group.Lr * group.WeightDecay);
                bool decays = group.WeightDecay != 0;
                var offset = decays ? group.WeightDecayOffsets?[j] : null;
                float stepSize = (float)(group.Lr / (1.0 - Math.Pow(o.Beta1, step)));
                float bc2Sqrt = (float)Math.Sqrt(1.0 - Math.Pow(o.Beta2, step));
                float[] m = _expAvg[i], v = _expAvgSq[i];
                var grad = p.Grad;
                // Elementwise, so chunks run in parallel with the same bits as in order.
                int chunks = (p.Length + Chunk - 1) / Chunk;
                Kernels.RowParallel.For(chunks, 12L * Chunk, (first, end) =>
                {
                    Span<float> scratch = stackalloc float[Chunk];
                    Span<float> ps = p.Span;
                    ReadOnlySpan<float> gs = grad.Span;
                    for (int c = first; c < end; c++)
                    {
                        int s = c * Chunk, len = Math.Min(Chunk, ps.Length - s);
                        var pc = ps.Slice(s, len); var gc = gs.Slice(s, len);
                        var mc = m.AsSpan(s, len); var vc = v.AsSpan(s, len); var t = scratch[..len];
                        if (decays) TensorPrimitives.Multiply(pc, decay, pc);
                        if (offset is not null) TensorPrimitives.MultiplyAdd(offset.Span.Slice(s, len), decayOffset, pc, pc);
                        TensorPrimitives.Multiply(mc, beta1, mc);
                        TensorPrimitives.MultiplyAdd(gc, oneMinusBeta1, mc, mc);
                        TensorPrimitives.Multiply(vc, beta2, vc);
                        TensorPrimitives.Multiply(gc, gc, t);
                        TensorPrimitives.MultiplyAdd(t, oneMinusBeta2, vc, vc);
                        // denom = √v / √(1 − β2ᵗ) + eps;  p −= stepSize · m / denom
                        TensorPrimitives.Sqrt(vc, t);
                        TensorPrimitives.Divide(t, bc2Sqrt, t);
                        TensorPrimitives.Add(t, eps, t);
                        TensorPrimitives.Divide(mc, t, t);
                        TensorPrimitives.MultiplyAdd(t, -stepSize, pc, pc);
                    }
                });
            }
        }
    }
}
