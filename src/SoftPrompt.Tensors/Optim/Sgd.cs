using System.Numerics.Tensors;

namespace SoftPrompt.Tensors.Optim;

public sealed record SgdOptions(double Momentum = 0, double Dampening = 0, bool Nesterov = false) : OptimizerOptions;

/// <summary>
/// Stochastic gradient descent, exactly PyTorch's <c>torch.optim.SGD</c> (maximize off):
/// <code>
/// d ← g + wd·p
/// b ← d at the first step, else μ·b + (1 − dampening)·d     (with momentum μ ≠ 0)
/// d ← d + μ·b (Nesterov) or b
/// p ← p − lr·d
/// </code>
/// The momentum buffer is state <c>momentum_buffer</c> (only when some group has momentum).
/// </summary>
public sealed class Sgd : Optimizer
{
    readonly float[]?[] _momentum;

    public Sgd(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, bool nesterov = false, double weightDecay = 0)
        : this([new ParamGroup(parameters)], lr, new SgdOptions(momentum, dampening, nesterov), weightDecay) { }

    public Sgd(IEnumerable<ParamGroup> groups, double lr, SgdOptions? defaults = null, double weightDecay = 0)
        : base(groups, lr, weightDecay, defaults ?? new SgdOptions())
    {
        _momentum = new float[ParameterCount][];
        for (int g = 0; g < Groups.Count; g++)
        {
            var o = (SgdOptions)Groups[g].Options;
            if (o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0))
                throw new ArgumentException($"Sgd: Nesterov momentum requires a momentum and zero dampening (group {g}: momentum {o.Momentum}, dampening {o.Dampening}).");
            if (o.Momentum == 0) continue;
            for (int j = 0; j < Groups[g].Parameters.Count; j++)
            {
                int i = GlobalIndex(g, j);
                _momentum[i] = AddState(i, "momentum_buffer", Groups[g].Parameters[j].Length);
            }
        }
    }

    public override void Step()
    {
        Span<float> scratch = stackalloc float[Chunk];
        for (int g = 0; g < Groups.Count; g++)
        {
            var group = Groups[g];
            var o = (SgdOptions)group.Options;
            float wd = (float)group.WeightDecay, mu = (float)o.Momentum, lr = (float)group.Lr;
            for (int j = 0; j < group.Parameters.Count; j++)
            {
                var p = group.Parameters[j];
                if (p.Grad is null) continue;
                int i = GlobalIndex(g, j);
                bool first = ++Steps[i] == 1;
                var buf = _momentum[i];
                if (mu != 0 && buf is null) throw new InvalidOperationException($"Sgd: group {g} gained momentum after construction; momentum buffers are allocated when the optimizer is built.");
                Span<float> ps = p.Span;
                ReadOnlySpan<float> gs = p.Grad.Span;
                for (int s = 0; s < ps.Length; s += Chunk)
                {
                    int len = Math.Min(Chunk, ps.Length - s);
                    var pc = ps.Slice(s, len); var t = scratch[..len];
                    scoped ReadOnlySpan<float> d = gs.Slice(s, len);
                    if (wd != 0) { TensorPrimitives.MultiplyAdd(pc, wd, d, t); d = t; }
                    if (mu != 0)
                    {
                        var b = buf.AsSpan(s, len);
                        if (first) d.CopyTo(b);
                        else
                        {
                            TensorPrimitives.Multiply(b, mu, b);
                            TensorPrimitives.MultiplyAdd(d, (float)(1.0 - o.Dampening), b, b);
                        }
                        if (o.Nesterov) { TensorPrimitives.MultiplyAdd(b, mu, d, t); d = t; }
                        else d = b;
                    }
                    TensorPrimitives.MultiplyAdd(d, -lr, pc, pc);
                }
            }
        }
    }
}
