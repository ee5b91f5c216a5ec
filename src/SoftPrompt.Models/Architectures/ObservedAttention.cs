using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Ops;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>Attention as the architectures call it, reporting probabilities to an observer when one is set.</summary>
static class ObservedAttention
{
    /// <param name="baseline">the layer's query, key and value projections of the same input without the plan's deltas</param>
    /// <param name="dropout">the checkpoint's attention dropout, applied in training mode (options.DropoutRng set)</param>
    public static Tensor Compute(ForwardOptions options, PlanBinding plan, int layer, Tensor q, Tensor k, Tensor v, int heads, int kvHeads,
        int[]? mask, int? keyLength, Func<(Tensor Q, Tensor K, Tensor V)> baseline, float dropout = 0f)
    {
        var (pk, pv) = plan.Prefix(layer);
        var drop = options.DropoutRng is { } rng && dropout > 0f ? new AttentionDropout(dropout, rng.NextUInt64()) : (AttentionDropout?)null;
        if (options.AttentionObserver is not { } observer)
            return F.Attention(q, k, v, heads, kvHeads, pk, pv, mask, keyLength: keyLength, dropout: drop);
        if (drop is not null) throw new ArgumentException("AttentionObserver: observe in evaluation mode (ForwardOptions.DropoutRng null); dropout would hide the attention it reports.");
        var (output, probs) = F.AttentionWithProbs(q, k, v, heads, kvHeads, pk, pv, mask, keyLength: keyLength);
        int b = q.Shape[0], tk = keyLength ?? k.Shape[1];
        if (options.Cache is not null && tk != q.Shape[1])
            throw new ArgumentException("AttentionObserver: observe a whole sequence in one pass (no cached past).");
        var soft = plan.SoftPositions(tk);
        Tensor? baseProbs = null;
        if (observer.WantsBaseline)
        {
            // Keys a plan-free model would see: the text, without the virtual-token positions.
            var textMask = new int[b * tk];
            for (int i = 0; i < textMask.Length; i++) textMask[i] = (options.AttentionMask?[i] ?? 1) * (soft is null ? 1 : 1 - soft[i]);
            var (qb, kb, vb) = baseline();
            (_, baseProbs) = F.AttentionWithProbs(qb, kb, vb, heads, kvHeads, mask: textMask);
        }
        observer.Observe(new AttentionObservation(layer, heads, kvHeads, probs, baseProbs, plan.PrefixLength, soft, v, pv));
        return output;
    }
}
