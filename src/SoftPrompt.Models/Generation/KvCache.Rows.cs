using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// A <see cref="KvCache"/>'s rows as slots, for continuous batching: rows of other caches join (<see cref="AddRow"/>),
/// rows leave (<see cref="RemoveRow"/>: the last row takes the slot), and the columns no row uses any more go
/// (<see cref="MakeRoom"/>). Text stays right-aligned at <see cref="Length"/>; each row's length is kept here.
/// </summary>
public sealed partial class KvCache
{
    /// <summary>Real text positions of row <paramref name="row"/> (the last ones of its buffer): its own for a row that joined, else all of <see cref="Length"/>.</summary>
    public int TextLength(int row) => _rowText is null ? Length : _rowText[row];

    /// <summary>
    /// Copies a row of another cache — its last <see cref="CacheRow.TextLength"/> text positions and its prefix — into
    /// a new last row of this one and returns that row's index. If the row holds more text than this cache's rows, the
    /// rows already here move right to make room (their padding grows).
    /// </summary>
    public int AddRow(CacheRow source)
    {
        var src = source.Cache;
        if (src._keyStore.Length != _keyStore.Length) throw new ArgumentException($"KvCache.AddRow: a row of a cache of {src._keyStore.Length} layers into one of {_keyStore.Length}.");
        if (source.Row < 0 || source.Row >= src.Rows) throw new ArgumentException($"KvCache.AddRow: row {source.Row} is outside its cache of {src.Rows}.");
        int t = source.TextLength;
        if (t < 1 || t > src.Length) throw new ArgumentException($"KvCache.AddRow: a row claims {t} text positions of a cache holding {src.Length}.");
        if (_rows < 0) { _rows = 0; _width = src._width; }
        else if (_rowText is null && _rows > 0) throw new InvalidOperationException("KvCache.AddRow: this cache's rows came from a forward pass; rows join only a cache whose rows all joined with AddRow.");
        if (src._width != _width) throw new ArgumentException($"KvCache.AddRow: keys {src._width} wide into a cache of {_width}.");
        if (_rows == 0) Length = 0;
        _rowText ??= new int[Math.Max(RowCapacity, 4)];
        int row = _rows;
        if (t > Length) { Compact(); ShiftRight(t - Length); }
        if (row == RowCapacity || _keyStore[0] is null) Resize(Math.Max(4, 2 * RowCapacity), Math.Max(Capacity, Math.Max(16, 2 * Length)));
        _rows = row + 1;
        SetRowViews();
        for (int l = 0; l < _keyStore.Length; l++)
        {
            CopyText(src._keys[l]!, source.Row, src.Length, _keys[l]!, row, Length, t);
            CopyText(src._values[l]!, source.Row, src.Length, _values[l]!, row, Length, t);
        }
        _rowText[row] = t;
        int p = src.HasPrefix ? src._rowPrefix![source.Row] : 0;
        if (p > 0 || HasPrefix)
        {
            if (!HasPrefix && _rowPrefix is not null) { Array.Clear(_rowPrefix, 0, row); Array.Clear(_prefixSources!, 0, row); }   // the rows here have none
            if (p > PrefixCapacity || PrefixRowCapacity < RowCapacity) ResizePrefix(Math.Max(p, PrefixCapacity));
            SetPrefixViews();
            _rowPrefix![row] = p;
            _prefixSources![row] = p > 0 ? src._prefixSources![source.Row] : null;
            for (int l = 0; l < _keyStore.Length && p > 0; l++)
            {
                CopyPrefix(src._prefixKeys![l], source.Row, _prefixKeys![l], row, p);
                CopyPrefix(src._prefixValues![l], source.Row, _prefixValues![l], row, p);
            }
        }
        return row;
    }

    /// <summary>
    /// Before <paramref name="rows"/> rows of <paramref name="like"/> join (<see cref="AddRow"/>), holding at most
    /// <paramref name="text"/> positions each: grows the storage once for all of them. Rows joining one by one grew it by
    /// doubling, each growth new storage and a copy of every row.
    /// </summary>
    public void Reserve(KvCache like, int rows, int text)
    {
        if (rows <= 0) return;
        if (_rows < 0) { _rows = 0; _width = like._width; }
        else if (_rowText is null && _rows > 0) throw new InvalidOperationException("KvCache.Reserve: this cache's rows came from a forward pass; rows join only a cache whose rows all joined with AddRow.");
        if (like._width != _width) throw new ArgumentException($"KvCache.Reserve: keys {like._width} wide for a cache of {_width}.");
        int needRows = Rows + rows, needLength = Math.Max(Length, text);
        if (_keyStore[0] is null || RowCapacity < needRows || Capacity < needLength)
            Resize(Math.Max(Math.Max(4, RowCapacity), needRows), Math.Max(Math.Max(16, Capacity), needLength));
    }

    /// <summary>Takes row <paramref name="row"/> out: the last row moves into its slot (returned: the index it had; -1 when the removed row was last).</summary>
    public int RemoveRow(int row)
    {
        if (_rowText is null) throw new InvalidOperationException("KvCache.RemoveRow: only rows that joined with AddRow can leave.");
        if (row < 0 || row >= Rows) throw new ArgumentOutOfRangeException(nameof(row), $"KvCache.RemoveRow: row {row} of {Rows}.");
        int last = Rows - 1;
        if (row != last)
        {
            for (int l = 0; l < _keyStore.Length; l++)
            {
                CopyText(_keys[l]!, last, Length, _keys[l]!, row, Length, _rowText[last]);
                CopyText(_values[l]!, last, Length, _values[l]!, row, Length, _rowText[last]);
                if (HasPrefix && _rowPrefix![last] > 0)
                {
                    CopyPrefix(_prefixKeys![l], last, _prefixKeys[l], row, _rowPrefix[last]);
                    CopyPrefix(_prefixValues![l], last, _prefixValues[l], row, _rowPrefix[last]);
                }
            }
            _rowText[row] = _rowText[last];
            if (HasPrefix) { _rowPrefix![row] = _rowPrefix[last]; _prefixSources![row] = _prefixSources[last]; }
        }
        _rows = last;
        if (_rows == 0) Length = 0;   // the storage stays for the next rows
        SetRowViews();
        if (HasPrefix && _rowPrefix.AsSpan(0, _rows).ContainsAnyExcept(0)) SetPrefixViews();
        else _prefixKeys = _prefixValues = null;   // no row left has a prefix
        return row == last ? -1 : last;
    }

    /// <summary>
    /// Before a pass of <paramref name="tokens"/> new positions over rows that joined (its mask is built on
    /// <see cref="Length"/>, so this comes first): drops the leading columns no row uses any more when the storage is
    /// full or they outnumber the rows' text, then grows the storage if it must. It never shrinks: a server's batch keeps
    /// what its busiest moment needed, rather than freeing and allocating it again (zeroed, on the large-object heap)
    /// every time a long request follows short ones.
    /// </summary>
    public void MakeRoom(int tokens)
    {
        if (_rowText is null || Rows == 0) return;
        int longest = LongestText();
        if (Length + tokens > Capacity || Length - longest > Math.Max(32, longest)) Compact();
        int need = Length + tokens;
        if (need > Capacity) Resize(RowCapacity, Math.Max(need, 2 * Capacity));
    }

    /// <summary>Drops the leading columns that no row uses any more (every row's padding): rows that left took their long texts with them.</summary>
    void Compact()
    {
        if (_rowText is null || Rows == 0) return;
        int longest = LongestText();
        int drop = Length - longest;
        if (drop <= 0) return;
        for (int l = 0; l < _keyStore.Length; l++)
            for (int r = 0; r < Rows; r++)
            {
                CopyText(_keys[l]!, r, Length, _keys[l]!, r, longest, _rowText[r]);
                CopyText(_values[l]!, r, Length, _values[l]!, r, longest, _rowText[r]);
            }
        Length = longest;
    }

    /// <summary>Moves every row's text <paramref name="by"/> positions right (more padding before it), growing the storage if needed.</summary>
    void ShiftRight(int by)
    {
        int length = Length + by;
        if (_keyStore[0] is not null && Capacity < length) Resize(RowCapacity, Math.Max(length, 2 * Capacity));
        for (int l = 0; l < _keyStore.Length && Rows > 0; l++)
            for (int r = 0; r < Rows; r++)
            {
                CopyText(_keys[l]!, r, Length, _keys[l]!, r, length, _rowText![r]);
                CopyText(_values[l]!, r, Length, _values[l]!, r, length, _rowText[r]);
            }
        Length = length;
    }

    /// <summary>The most text positions any row holds (rows that joined).</summary>
    int LongestText()
    {
        int longest = 0;
        foreach (int t in _rowText.AsSpan(0, Rows)) longest = Math.Max(longest, t);
        return longest;
    }

    /// <summary>Each layer's key and value views over the first <c>_rows</c> rows of the storage.</summary>
    void SetRowViews()
    {
        for (int l = 0; l < _keyStore.Length; l++)
        {
            _keys[l] = _keyStore[l]!.View([_rows, Capacity, _width]);
            _values[l] = _valueStore[l]!.View([_rows, Capacity, _width]);
        }
    }

    // row `from` of src [*, srcLength.., W]: its last `count` positions before srcLength -> row `to` of dst, ending at dstLength
    static void CopyText(Tensor src, int from, int srcLength, Tensor dst, int to, int dstLength, int count)
    {
        int w = src.Shape[2];
        src.Span.Slice((from * src.Shape[1] + srcLength - count) * w, count * w).CopyTo(dst.Span.Slice((to * dst.Shape[1] + dstLength - count) * w, count * w));
    }

    // row `from`'s first `count` prefix positions -> row `to`'s
    static void CopyPrefix(Tensor src, int from, Tensor dst, int to, int count)
    {
        int w = src.Shape[2];
        src.Span.Slice(from * src.Shape[1] * w, count * w).CopyTo(dst.Span.Slice(to * dst.Shape[1] * w, count * w));
    }
}
