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

    /// <summary>
    /// Writes a layer's new keys and values [B, Tn, W] after the cached ones and returns the layer's
    /// buffers [B, capacity, W] with the number of valid rows (pass it to Attention as keyLength).
    /// The buffers grow by doubling, so the past is not copied on every step.
    /// </summary>
    public (Tensor Keys, Tensor Values, int Length) Append(int layer, Tensor keys, Tensor values)
    {
        int length = Length + keys.Shape[1];
        _keys[layer] = Write(_keys[layer], keys, Length, length);
        _values[layer] = Write(_values[layer], values, Length, length);
        return (_keys[layer]!, _values[layer]!, length);
    }

    /// <summary>Layer l's cached keys and values as contiguous [B, Length, W] copies (the text tokens, without a prefix), or nulls before the first pass.</summary>
    public (Tensor? Keys, Tensor? Values) Layer(int layer) => (Packed(_keys[layer]), Packed(_values[layer]));

    Tensor? Packed(Tensor? buffer)
    {
        if (buffer is null) return null;
        int b = buffer.Shape[0], cap = buffer.Shape[1], w = buffer.Shape[2];
        var t = Tensor.ZerosOnHeap(b, Length, w);
        for (int r = 0; r < b; r++) buffer.Span.Slice(r * cap * w, Length * w).CopyTo(t.Span.Slice(r * Length * w, Length * w));
        return t;
    }

    /// <summary>Marks the tokens appended in this forward pass as cached (call once per pass, after every layer).</summary>
    public void Advance(int tokens) => Length += tokens;

    /// <summary>Layer l's cached prefix [B, P, W], or nulls without one.</summary>
    public (Tensor? Keys, Tensor? Values) Prefix(int layer) => _prefixKeys is null ? (null, null) : (_prefixKeys[layer], _prefixValues![layer]);

    /// <summary>Stores the prefixes of the first pass (copied to the heap; they are not trained through the cache).</summary>
    internal void SetPrefix(Tensor[] keys, Tensor[] values, int[] rowLengths, KvPrefix?[] sources)
    {
        if (HasPrefix || Length > 0) throw new InvalidOperationException("KvCache: a prefix can only be stored by the first forward pass.");
        _prefixKeys = [.. keys.Select(k => k.HeapCopy())];
        _prefixValues = [.. values.Select(v => v.HeapCopy())];
        RowPrefixLengths = rowLengths;
        _prefixSources = sources;
    }

    /// <summary>True when row b's prefix in the cache came from this plan prefix.</summary>
    internal bool HoldsPrefix(int row, KvPrefix? prefix) => _prefixSources is not null && ReferenceEquals(_prefixSources[row], prefix);

    /// <summary>
    /// next: [B, Tn, W] written at rows [at, at+Tn) of buffer [B, cap, W] (grown to hold length rows);
    /// on the heap, since a step's scope would otherwise reclaim the cache.
    /// </summary>
    static Tensor Write(Tensor? buffer, Tensor next, int at, int length)
    {
        int b = next.Shape[0], tn = next.Shape[1], w = next.Shape[2];
        if (buffer is null || buffer.Shape[1] < length)
        {
            int cap = Math.Max(length, Math.Max(16, 2 * (buffer?.Shape[1] ?? 0)));
            var grown = Tensor.ZerosOnHeap(b, cap, w);
            if (buffer is not null)
                for (int r = 0; r < b; r++) buffer.Span.Slice(r * buffer.Shape[1] * w, at * w).CopyTo(grown.Span.Slice(r * cap * w, at * w));
            buffer = grown;
        }
        int stride = buffer.Shape[1] * w;
        for (int r = 0; r < b; r++) next.Span.Slice(r * tn * w, tn * w).CopyTo(buffer.Span.Slice(r * stride + at * w, tn * w));
        return buffer;
    }
}
