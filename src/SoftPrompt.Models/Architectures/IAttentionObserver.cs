using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// Sees every layer's attention probabilities during a forward pass (for analysis, not training).
/// probs: [B, H, Tq, P+Tk] with the plan (prefix columns first). baseline, when asked for: [B, H, Tq, Tk]
/// from the same layer input without the plan — base projections (no deltas), no prefix, and the
/// soft-token positions masked out as keys — so the two differ only by what the plan does at this layer.
/// softKeys: B·Tk, 1 where the key is a plan's virtual token, or null without soft tokens.
/// values: the layer's value rows [B, Tk, Hkv·hd] (first Tk rows of each batch row); prefixValues: [B, P, Hkv·hd] or null.
/// </summary>
public interface IAttentionObserver
{
    bool WantsBaseline { get; }

    void Observe(AttentionObservation observation);
}

/// <summary>One layer's attention as an <see cref="IAttentionObserver"/> sees it.</summary>
public sealed record AttentionObservation(int Layer, int Heads, int KvHeads, Tensor Probs, Tensor? Baseline, int PrefixLength, int[]? SoftKeys,
    Tensor Values, Tensor? PrefixValues);
