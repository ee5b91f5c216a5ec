using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Per-layer keys and values of the tokens seen so far, [B, T, Hkv·hd] each, so generation feeds only the new token;
/// and, when the first pass carried a prompt plan with key/value prefixes, those prefixes ([B, P, Hkv·hd] per layer,
/// rows padded to the longest) — a prefix lives in the cache for the rest of the sequence.
///
/// Rows can also join and leave (<see cref="AddRow"/>, <see cref="RemoveRow"/>: continuous batching). Each layer's
/// storage is [row capacity, capacity, W] on the heap (it outlives every step's scope) and the model sees a view of its
/// first B rows, so a row that joins is copied into the next slot and a row that leaves has the last row moved into
/// its slot: one row copied, never the whole cache. Text is right-aligned: every row's real positions end at
/// <see cref="Length"/> and its padding (masked by the caller) comes first. Storage grows by doubling; when it fills,
/// the columns no row uses any more are dropped first (<see cref="MakeRoom"/>); it never shrinks, and an emptied cache
/// keeps its storage for the next rows. A <c>scoped</c> cache takes its storage from the current <see cref="Tensors.Memory.TensorScope"/>
/// (pooled, gone with the scope): for a first pass whose rows are copied into a batch before the scope ends. Otherwise the
/// storage is pooled too (<see cref="Tensor.ZerosPooled"/>) and <see cref="Dispose"/> gives it back, so the next
/// generation's cache lands on pages already faulted in: a fresh cache's first touch of each page (a page about every
/// row on GPT-2 small, 24 buffers) fell on the decoding steps that wrote its rows (docs/benchmarks.md, Decoding).
/// </summary>
public sealed partial class KvCache(int layers, bool scoped = false) : IDisposable
{
    readonly List<Tensor> _pooled = [];                                                           // storage to give back
    readonly Tensor?[] _keyStore = new Tensor?[layers], _valueStore = new Tensor?[layers];       // [rowCapacity, capacity, W]
    readonly Tensor?[] _keys = new Tensor?[layers], _values = new Tensor?[layers];               // views [Rows, capacity, W]
    Tensor[]? _prefixKeyStore, _prefixValueStore;                                                 // [rowCapacity, prefixCapacity, W]
    Tensor[]? _prefixKeys, _prefixValues;                                                         // views [Rows, prefixCapacity, W]
    KvPrefix?[]? _prefixSources;
    int[]? _rowPrefix;                                                                             // [rowCapacity]
    int[]? _rowText;                                                                               // [rowCapacity]: rows that joined; null for a first pass's rows
    int _rows = -1, _width;

    /// <summary>
    /// Text positions the first pass's storage is made for (at least its own), e.g. a generation's prompt and new tokens: decoding then
    /// never stops to grow the cache, which meant a fresh copy of it (fresh pages, faulted in one by one) a doubling.
    /// </summary>
    public int ReservedLength { get; init; }

    /// <summary>Text positions every row's buffer holds (a row's real tokens are its last ones; not counting a prefix).</summary>
    public int Length { get; private set; }

    /// <summary>Rows the cache holds (0 before the first pass).</summary>
    public int Rows => Math.Max(_rows, 0);

    public bool HasPrefix => _prefixKeys is not null;

    /// <summary>Prefix length of each row (0 for a row without one); empty without a prefix.</summary>
    public ReadOnlySpan<int> RowPrefixLengths => HasPrefix ? _rowPrefix.AsSpan(0, Rows) : default;

    int RowCapacity => _keyStore[0]?.Shape[0] ?? 0;
    int Capacity => _keyStore[0]?.Shape[1] ?? 0;
    int PrefixCapacity => _prefixKeyStore?[0].Shape[1] ?? 0;
    int PrefixRowCapacity => _prefixKeyStore?[0].Shape[0] ?? 0;

    Tensor NewStorage(params int[] shape)
    {
        if (scoped) return Tensor.Zeros(shape);
        var t = Tensor.ZerosPooled(shape);
        Tensors.Weights.HugePages.Advise(t);   // every decoding step reads it whole: 2 MiB pages spare its TLB misses as the weights'
        _pooled.Add(t);
        return t;
    }

    /// <summary>
    /// Storage replaced by a larger one is left to the collector, not given back: a view of it may still be read (an
    /// attention node of an earlier pass kept for backward), and the pool would hand it to someone else meanwhile.
    /// </summary>
    void Retire(Tensor? old)
    {
        if (old is not null) _pooled.Remove(old);
    }

    /// <summary>Gives the cache's storage back to the pool; the cache must not be used afterwards.</summary>
    public void Dispose()
    {
        foreach (var t in _pooled) Tensor.GiveBack(t);
        _pooled.Clear();
        Array.Clear(_keyStore); Array.Clear(_valueStore); Array.Clear(_keys); Array.Clear(_values);
        _prefixKeyStore = _prefixValueStore = _prefixKeys = _prefixValues = null;
    }

    /// <summary>
    /// Writes a layer's new keys and values [B, Tn, W] after the cached ones and returns the layer's buffers
    /// [B, capacity, W] with the number of valid positions (pass it to Attention as keyLength).
    /// </summary>
    public (Tensor Keys, Tensor Values, int Length) Append(int layer, Tensor keys, Tensor values)
    {
        using var clock = Tensors.Kernels.OpClock.Time(Tensors.Kernels.OpClock.Kind.CacheWrite);
        int b = keys.Shape[0], tn = keys.Shape[1], length = Length + tn;
        if (_rows < 0) { _rows = b; _width = keys.Shape[2]; }
        if (b != _rows) throw new ArgumentException($"KvCache: a pass of {b} rows over a cache of {_rows}.");
        if (keys.Shape[2] != _width) throw new ArgumentException($"KvCache: keys {keys.Shape[2]} wide in a cache of {_width}.");
        if (_keyStore[layer] is null || Capacity < length) Resize(Math.Max(RowCapacity, b), Math.Max(length, Math.Max(Math.Max(16, ReservedLength), 2 * Capacity)));
        var k = _keys[layer]!.Span;
        var v = _values[layer]!.Span;
        int stride = Capacity * _width, w = tn * _width;
        for (int r = 0; r < b; r++)
        {
            keys.Span.Slice(r * w, w).CopyTo(k.Slice(r * stride + Length * _width, w));
            values.Span.Slice(r * w, w).CopyTo(v.Slice(r * stride + Length * _width, w));
        }
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
    public void Advance(int tokens)
    {
        Length += tokens;
        if (_rowText is not null)
            for (int r = 0; r < Rows; r++) _rowText[r] += tokens;
    }

    /// <summary>Layer l's cached prefix [B, P, W], or nulls without one.</summary>
    public (Tensor? Keys, Tensor? Values) Prefix(int layer) => _prefixKeys is null ? (null, null) : (_prefixKeys[layer], _prefixValues![layer]);

    /// <summary>Stores the prefixes of the first pass (copied to the heap; they are not trained through the cache).</summary>
    internal void SetPrefix(Tensor[] keys, Tensor[] values, int[] rowLengths, KvPrefix?[] sources)
    {
        if (HasPrefix || Length > 0) throw new InvalidOperationException("KvCache: a prefix can only be stored by the first forward pass.");
        if (_rows < 0) { _rows = rowLengths.Length; _width = keys[0].Shape[2]; }
        _prefixKeyStore = _prefixKeys = scoped ? (Tensor[])keys.Clone() : [.. keys.Select(k => k.HeapCopy())];
        _prefixValueStore = _prefixValues = scoped ? (Tensor[])values.Clone() : [.. values.Select(v => v.HeapCopy())];
        _rowPrefix = (int[])rowLengths.Clone();
        _prefixSources = (KvPrefix?[])sources.Clone();
    }

    /// <summary>True when row b's prefix in the cache came from this plan prefix.</summary>
    internal bool HoldsPrefix(int row, KvPrefix? prefix) => _prefixSources is not null && ReferenceEquals(_prefixSources[row], prefix);

    /// <summary>New storage of [rowCapacity, capacity, W] per layer, the rows' first Length positions copied over.</summary>
    void Resize(int rowCapacity, int capacity)
    {
        for (int l = 0; l < _keyStore.Length; l++)
        {
            var keys = NewStorage(rowCapacity, capacity, _width);
            var values = NewStorage(rowCapacity, capacity, _width);
            int rows = Rows;
            if (_keyStore[l] is { } old)
                for (int r = 0; r < rows; r++)
                {
                    old.Span.Slice(r * old.Shape[1] * _width, Length * _width).CopyTo(keys.Span.Slice(r * capacity * _width, Length * _width));
                    _valueStore[l]!.Span.Slice(r * old.Shape[1] * _width, Length * _width).CopyTo(values.Span.Slice(r * capacity * _width, Length * _width));
                }
            Retire(_keyStore[l]); Retire(_valueStore[l]);
            (_keyStore[l], _valueStore[l]) = (keys, values);
            _keys[l] = keys.View([rows, capacity, _width]);
            _values[l] = values.View([rows, capacity, _width]);
        }
        if (_rowText is not null && _rowText.Length < rowCapacity) Array.Resize(ref _rowText, rowCapacity);
        if (_prefixKeyStore is not null && PrefixRowCapacity < rowCapacity) ResizePrefix(PrefixCapacity);
    }

    /// <summary>New prefix storage of [row capacity, prefixCapacity, W] per layer, the rows' prefixes copied over.</summary>
    void ResizePrefix(int prefixCapacity)
    {
        // the rows the old prefix views hold (a row being added is not among them yet)
        int layers = _keyStore.Length, rowCapacity = Math.Max(RowCapacity, Rows), rows = HasPrefix ? _prefixKeys![0].Shape[0] : 0;
        var keys = new Tensor[layers];
        var values = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            keys[l] = NewStorage(rowCapacity, prefixCapacity, _width);
            values[l] = NewStorage(rowCapacity, prefixCapacity, _width);
            for (int r = 0; r < rows; r++)
                if (_rowPrefix![r] > 0)
                {
                    CopyPrefix(_prefixKeys![l], r, keys[l], r, _rowPrefix[r]);
                    CopyPrefix(_prefixValues![l], r, values[l], r, _rowPrefix[r]);
                }
        }
        var lengths = new int[rowCapacity];
        var sources = new KvPrefix?[rowCapacity];
        if (HasPrefix) { _rowPrefix.AsSpan(0, rows).CopyTo(lengths); _prefixSources.AsSpan(0, rows).CopyTo(sources); }
        foreach (var t in (_prefixKeyStore ?? []).Concat(_prefixValueStore ?? [])) Retire(t);
        (_prefixKeyStore, _prefixValueStore, _rowPrefix, _prefixSources) = (keys, values, lengths, sources);
        SetPrefixViews();
    }

    void SetPrefixViews()
    {
        int p = PrefixCapacity;
        _prefixKeys = [.. _prefixKeyStore!.Select(s => s.View([_rows, p, _width]))];
        _prefixValues = [.. _prefixValueStore!.Select(s => s.View([_rows, p, _width]))];
    }
}

/// <summary>Row <paramref name="Row"/> of a cache, whose real text positions are its last <paramref name="TextLength"/> (see <see cref="KvCache.AddRow"/>).</summary>
public readonly record struct CacheRow(KvCache Cache, int Row, int TextLength);
