using SoftPrompt.Tensors;

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

    /// <summary>[B, Tp, W] + [B, Tn, W] -> [B, Tp+Tn, W], on the heap (a step's scope would otherwise reclaim the cache).</summary>
    static Tensor Join(Tensor? past, Tensor next)
    {
        int b = next.Shape[0], tn = next.Shape[1], w = next.Shape[2], tp = past?.Shape[1] ?? 0;
        var joined = Tensor.ZerosOnHeap(b, tp + tn, w);
        var dst = joined.Span;
        for (int r = 0; r < b; r++)
        {
            past?.Span.Slice(r * tp * w, tp * w).CopyTo(dst.Slice(r * (tp + tn) * w, tp * w));
            next.Span.Slice(r * tn * w, tn * w).CopyTo(dst.Slice((r * (tp + tn) + tp) * w, tn * w));
        }
        return joined;
    }
}
