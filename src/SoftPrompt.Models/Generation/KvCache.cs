using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Per-layer keys and values of the tokens seen so far, [B, T, Hkv·hd] each, so generation feeds
/// only the new token; and, when the first pass carried a prompt plan with key/value prefixes, those
/// prefixes ([B, P, Hkv·hd] per layer, rows padded to the longest) — a prefix lives in the cache for
/// the rest of the sequence. Tensors live on the heap (outside any scope) because they outlive a step.
/// </summary>
public sealed class KvCache(int layers)
{
    readonly Tensor?[] _keys = new Tensor?[layers];
    readonly Tensor?[] _values = new Tensor?[layers];
    Tensor[]? _prefixKeys, _prefixValues;
    KvPrefix?[]? _prefixSources;

    /// <summary>Text tokens cached per row (not counting a prefix).</summary>
    public int Length { get; private set; }

    public bool HasPrefix => _prefixKeys is not null;

    /// <summary>Prefix length of each row (0 for a row without one); null without a prefix.</summary>
    public int[]? RowPrefixLengths { get; private set; }

    /// <summary>Appends a layer's new keys and values and returns the whole sequence's.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        _keys[layer] = Join(_keys[layer], keys);
        _values[layer] = Join(_values[layer], values);
        return (_keys[layer]!, _values[layer]!);
    }

    /// <summary>Layer l's cached keys and values [B, T, W] (the text tokens, without a prefix), or nulls before the first pass.</summary>
    public (Tensor? Keys, Tensor? Values) Layer(int layer) => (_keys[layer], _values[layer]);

    /// <summary>Marks the tokens appended in this forward pass as cached (call once per pass, after every layer).</summary>
    public void Advance(int tokens) => Length += tokens;

    /// <summary>Layer l's cached prefix [B, P, W], or nulls without one.</summary>
    public (Tensor? Keys, Tensor? Values) Prefix(int layer) => _prefixKeys is null ? (null, null) : (_prefixKeys[layer], _prefixValues![layer]);

    /// <summary>Stores the prefixes of the first pass (copied to the heap; they are not trained through the cache).</summary>
    internal void SetPrefix(Tensor[] keys, Tensor[] values, int[] rowLengths, KvPrefix?[] sources)
    {
        if (HasPrefix || Length > 0) throw new InvalidOperationException("KvCache: a prefix can only be stored by the first forward pass.");
        _prefixKeys = keys.Select(HeapCopy).ToArray();
        _prefixValues = values.Select(HeapCopy).ToArray();
        RowPrefixLengths = rowLengths;
        _prefixSources = sources;
    }

    /// <summary>True when row b's prefix in the cache came from this plan prefix.</summary>
    internal bool HoldsPrefix(int row, KvPrefix? prefix) => _prefixSources is not null && ReferenceEquals(_prefixSources[row], prefix);

    static Tensor HeapCopy(Tensor t)
    {
        var copy = Tensor.ZerosOnHeap(t.Shape.ToArray());
        t.Span.CopyTo(copy.Span);
        return copy;
    }

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
