using System.Numerics.Tensors;

namespace SoftPrompt.Tensors.Optim;

/// <summary>Gradient clipping with PyTorch's <c>clip_grad_norm_</c> semantics.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients by maxNorm / (total + 1e-6) when that is below 1, where total is the L2 norm
    /// over every gradient together (accumulated in double); returns total. Parameters without a gradient
    /// are skipped. As in PyTorch, a non-finite total propagates into the gradients.
    /// </summary>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        const int chunk = 4096;
        double sumSq = 0;
        foreach (var p in parameters)
        {
            if (p.Grad is null) continue;
            ReadOnlySpan<float> g = p.Grad.Span;
            for (int s = 0; s < g.Length; s += chunk) sumSq += TensorPrimitives.SumOfSquares(g.Slice(s, Math.Min(chunk, g.Length - s)));
        }
        double total = Math.Sqrt(sumSq);
        double coef = maxNorm / (total + 1e-6);
        if (!(coef >= 1.0))   // NaN included, as clamp(max=1) keeps NaN
        {
            foreach (var p in parameters)
                if (p.Grad is not null) TensorPrimitives.Multiply(p.Grad.Span, (float)coef, p.Grad.Span);
        }
        return (float)total;
    }
}
