using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Per-layer keys and values of the tokens seen so far, [B, T, Hkv·hd] each, so generation feeds
/// only the new token. Tensors live on the heap (outside any scope) because they outlive a step.
/// </summary>
public sealed class KvCache(int layers)
{
    readonly Tensor?[] _keys = new Tensor?[layers];
    readonly Tensor?[] _values = new Tensor?[layers];

    /// <summary>Tokens cached per row.</summary>
    public int Length { get; private set; }

    /// <summary>Appends a layer's new keys and values and returns the whole sequence's.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        _keys[layer] = Join(_keys[layer], keys);
        _values[layer] = Join(_values[layer], values);
        return (_keys[layer]!, _values[layer]!);
    }

    /// <summary>Marks the tokens appended in this forward pass as cached (call once per pass, after every layer).</summary>
    public void Advance(int tokens) => Length += tokens;

    static Tensor Join(Tensor? past, Tensor next)
    {
        var joined = past is null ? next.Clone() : F.Concat([past, next], 1);
        // Copy to the heap: the step's scope would otherwise reclaim the cache.
        var kept = Tensor.ZerosOnHeap(joined.Shape.ToArray());
        joined.Span.CopyTo(kept.Span);
        return kept;
    }
}
