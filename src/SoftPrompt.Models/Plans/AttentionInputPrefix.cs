using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// Petrov et al.'s prefix: for every layer, P vectors [P, D] that replace the hidden state entering the
/// attention block (before its first norm, as the authors' minGPT does: ln_1(cat(prefix, x[P:]))) at P
/// positions of the row (its first, by default), so the prefix's keys and values come from the frozen
/// norm, W_K and W_V. The residual stream at those positions is left as it was; the ids there are
/// placeholders (the slots keep their position ids, so the text after them starts at position P).
/// </summary>
public sealed class AttentionInputPrefix
{
    public IReadOnlyList<Tensor> Layers { get; }

    public int Length { get; }

    /// <summary>The first of the row's P positions (0 unless left padding moved the row).</summary>
    public int Position { get; init; }

    public AttentionInputPrefix At(int position) => new(Layers) { Position = position };

    public AttentionInputPrefix(IReadOnlyList<Tensor> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("AttentionInputPrefix: one [P, D] tensor per layer is needed.");
        Length = layers[0].Rank == 2 ? layers[0].Shape[0] : -1;
        for (int l = 0; l < layers.Count; l++)
            if (layers[l].Rank != 2 || layers[l].Shape[0] != Length || layers[l].Shape[1] != layers[0].Shape[1])
                throw new ShapeMismatchException($"AttentionInputPrefix: layer {l} is {Tensor.Format(layers[l].Shape)}; every layer needs [P, D] with one P and D.");
        Layers = layers;
    }
}
