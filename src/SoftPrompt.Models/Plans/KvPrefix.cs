using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// A key/value prefix for every layer: Keys[l] and Values[l] are [P, Hkv·hd], the keys already in
/// the form the attention scores them (after any rotary embedding — prefixes carry no position).
/// Every query of the row attends to them; the row's text positions start at P, as Hugging Face
/// numbers tokens after a past of length P.
/// </summary>
public sealed class KvPrefix
{
    public IReadOnlyList<Tensor> Keys { get; }
    public IReadOnlyList<Tensor> Values { get; }

    /// <summary>Prefix length P.</summary>
    public int Length { get; }

    public KvPrefix(IReadOnlyList<Tensor> keys, IReadOnlyList<Tensor> values)
    {
        if (keys.Count == 0 || keys.Count != values.Count)
            throw new ArgumentException($"KvPrefix: {keys.Count} key and {values.Count} value tensors; need one of each per layer.");
        Length = keys[0].Rank == 2 ? keys[0].Shape[0] : -1;
        for (int l = 0; l < keys.Count; l++)
        {
            if (keys[l].Rank != 2 || values[l].Rank != 2 || keys[l].Shape[0] != Length || !keys[l].Shape.SequenceEqual(values[l].Shape))
                throw new ShapeMismatchException($"KvPrefix: layer {l} has keys {Tensor.Format(keys[l].Shape)} and values {Tensor.Format(values[l].Shape)}; every layer needs [P, width] for both with one P.");
        }
        Keys = keys; Values = values;
    }
}
