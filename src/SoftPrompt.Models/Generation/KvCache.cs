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
    /// A cache for a new batch made of rows of other caches — continuous batching regroups the rows being decoded
    /// whenever one joins or leaves. Row i takes rows[i]'s last TextLength text positions (a row's real tokens are
    /// the last ones of its cache: left padding), right-aligned to the longest, so its padding comes first and the
    /// caller masks it; a row's prefix keeps its length and its source. The copies are on the heap.
    /// </summary>
    public static KvCache Gather(int layers, IReadOnlyList<CacheRow> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("KvCache.Gather: no rows.");
        foreach (var r in rows)
        {
            if (r.Cache._keys.Length != layers) throw new ArgumentException($"KvCache.Gather: a row's cache has {r.Cache._keys.Length} layers, not {layers}.");
            if (r.TextLength < 0 || r.TextLength > r.Cache.Length) throw new ArgumentException($"KvCache.Gather: a row claims {r.TextLength} text positions of a cache holding {r.Cache.Length}.");
            if (r.Row < 0 || r.Cache._keys[0] is { } k && r.Row >= k.Shape[0]) throw new ArgumentException($"KvCache.Gather: row {r.Row} is outside its cache.");
        }
        int batch = rows.Count, length = rows.Max(r => r.TextLength);
        var gathered = new KvCache(layers) { Length = length };
        for (int l = 0; l < layers; l++)
        {
            gathered._keys[l] = GatherText(rows, length, r => r.Cache._keys[l]);
            gathered._values[l] = GatherText(rows, length, r => r.Cache._values[l]);
        }
        if (rows.Any(r => r.Cache.HasPrefix && r.Cache.RowPrefixLengths![r.Row] > 0))
        {
            var lengths = rows.Select(r => r.Cache.HasPrefix ? r.Cache.RowPrefixLengths![r.Row] : 0).ToArray();
            var keys = new Tensor[layers];
            var values = new Tensor[layers];
            for (int l = 0; l < layers; l++)
            {
                keys[l] = GatherPrefix(rows, lengths, r => r.Cache._prefixKeys![l]);
                values[l] = GatherPrefix(rows, lengths, r => r.Cache._prefixValues![l]);
            }
            gathered._prefixKeys = keys;
            gathered._prefixValues = values;
            gathered.RowPrefixLengths = lengths;
            gathered._prefixSources = [.. rows.Select(r => r.Cache._prefixSources?[r.Row])];
        }
        return gathered;
    }

    // rows' buffers [B_r, cap_r, W] -> [B, max(length, 1), W]: row i's last TextLength valid positions at the end of its row
    static Tensor? GatherText(IReadOnlyList<CacheRow> rows, int length, Func<CacheRow, Tensor?> buffer)
    {
        int width = rows.Select(buffer).FirstOrDefault(t => t is not null)?.Shape[2] ?? 0;
        if (width == 0) return null;
        var t = Tensor.ZerosOnHeap(rows.Count, Math.Max(length, 1), width);
        int cap = t.Shape[1];
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.TextLength == 0) continue;
            var src = buffer(r)!;
            int srcCap = src.Shape[1], from = r.Cache.Length - r.TextLength;
            src.Span.Slice((r.Row * srcCap + from) * width, r.TextLength * width)
               .CopyTo(t.Span.Slice((i * cap + length - r.TextLength) * width, r.TextLength * width));
        }
        return t;
    }

    // rows' prefixes [B_r, P_r, W] -> [B, max P, W]: row i's first lengths[i] positions, zeros after (masked by the binding)
    static Tensor GatherPrefix(IReadOnlyList<CacheRow> rows, int[] lengths, Func<CacheRow, Tensor> prefix)
    {
        int longest = lengths.Max(), width = 0;
        for (int i = 0; i < rows.Count && width == 0; i++)
            if (lengths[i] > 0) width = prefix(rows[i]).Shape[2];
        var t = Tensor.ZerosOnHeap(rows.Count, longest, width);
        for (int i = 0; i < rows.Count; i++)
        {
            if (lengths[i] == 0) continue;
            var src = prefix(rows[i]);
            src.Span.Slice(rows[i].Row * src.Shape[1] * width, lengths[i] * width).CopyTo(t.Span.Slice(i * longest * width, lengths[i] * width));
        }
        return t;
    }

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

/// <summary>Row <paramref name="Row"/> of a cache, whose real text positions are its last <paramref name="TextLength"/> (see <see cref="KvCache.Gather"/>).</summary>
public readonly record struct CacheRow(KvCache Cache, int Row, int TextLength);
