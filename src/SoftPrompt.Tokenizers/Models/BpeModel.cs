using System.Buffers;
using System.Text;

namespace SoftPrompt.Tokenizers.Models;

/// <summary>
/// Byte-pair encoding as Hugging Face's <c>BPE</c> model does it: a piece starts as one symbol per
/// character (or per byte, for byte-level vocabularies), then the adjacent pair with the lowest merge
/// rank is merged, leftmost first, until no pair has a rank. Words seen before come from a per-thread cache.
/// </summary>
internal sealed partial class BpeModel : ITokenizerModel
{
    readonly Vocabulary _vocab;
    readonly Dictionary<long, Merge> _merges;
    readonly int[] _byteLevelIds = new int[256];   // id of each byte's byte-level character, -1 if absent
    readonly int[] _byteFallbackIds = new int[256]; // id of <0xNN>, -1 if absent
    readonly string? _unkToken;
    readonly int _unkId;
    readonly bool _fuseUnk, _byteFallback, _ignoreMerges;
    readonly string? _prefix, _suffix;
    readonly ThreadLocal<BpeScratch> _scratch;

    /// <summary>A merge's rank (its line in the merges list) and the id of the token it makes.</summary>
    internal readonly record struct Merge(int Rank, int NewId);

    public BpeModel(Vocabulary vocab, Dictionary<long, Merge> merges, string? unkToken, bool fuseUnk, bool byteFallback,
        bool ignoreMerges, string? continuingSubwordPrefix, string? endOfWordSuffix)
    {
        _vocab = vocab;
        _merges = merges;
        _unkToken = unkToken;
        _unkId = unkToken is not null && vocab.Get(unkToken) is { } u ? u : -1;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        _prefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        _suffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        Span<char> one = stackalloc char[1];
        bool allBytes = true;
        for (int b = 0; b < 256; b++)
        {
            one[0] = ByteLevelAlphabet.ByteToChar[b];
            _byteLevelIds[b] = vocab.TryGet(one, out int id) ? id : -1;
            allBytes &= _byteLevelIds[b] >= 0;
            _byteFallbackIds[b] = vocab.Get($"<0x{b:X2}>") ?? -1;
        }
        CanTakeRawBytes = allBytes && _prefix is null && _suffix is null;
        _scratch = new ThreadLocal<BpeScratch>(() => new BpeScratch());
    }

    /// <summary>
    /// True when every byte's byte-level character is a token and no prefix or suffix decorates
    /// symbols: then a ByteLevel pre-tokenizer may hand raw text over and ids come straight from bytes.
    /// </summary>
    public bool CanTakeRawBytes { get; }

    public string Name => "BPE";
    public int VocabSize => _vocab.Size;
    public int? TokenToId(string token) => _vocab.Get(token);
    public string? IdToToken(int id) => _vocab.Token(id);
    public int MergeCount => _merges.Count;

    public void Encode(PreTokenizedString text, List<int> ids)
    {
        var scratch = _scratch.Value!;
        bool raw = text.BytesPending;
        var cache = raw ? scratch.RawCache : scratch.TextCache;
        foreach (var piece in text.Pieces)
        {
            var span = piece.Span;
            if (span.IsEmpty) continue;
            if (cache.Lookup.TryGetValue(span, out int[]? hit))
            {
                ids.AddRange(hit);
                continue;
            }
            int before = ids.Count;
            if (raw) EncodeBytes(span, scratch, ids);
            else EncodeText(span, scratch, ids);
            if (span.Length < BpeScratch.MaxCachedLength) cache.Add(span, ids, before);
        }
    }

    /// <summary>The piece is raw text: its UTF-8 bytes are the initial symbols, by the byte-level table.</summary>
    void EncodeBytes(ReadOnlySpan<char> text, BpeScratch s, List<int> ids)
    {
        int n = s.Utf8(text);
        if (_ignoreMerges)
        {
            Span<char> word = n <= 256 ? stackalloc char[n] : new char[n];
            for (int i = 0; i < n; i++) word[i] = ByteLevelAlphabet.ByteToChar[s.Bytes[i]];
            if (_vocab.TryGet(word, out int whole)) { ids.Add(whole); return; }
        }
        s.Reset(n);
        for (int i = 0; i < n; i++) s.Push(_byteLevelIds[s.Bytes[i]]);
        MergeAll(s);
        s.CopyTo(ids);
    }

    /// <summary>Hugging Face's <c>merge_word</c>: one symbol per character with prefix/suffix, byte fallback, unknown handling.</summary>
    void EncodeText(ReadOnlySpan<char> text, BpeScratch s, List<int> ids)
    {
        if (_ignoreMerges && _vocab.TryGet(text, out int whole)) { ids.Add(whole); return; }
        s.Reset(text.Length);
        Span<char> buffer = stackalloc char[64];
        int pendingUnk = -1;
        for (int i = 0; i < text.Length;)
        {
            int w = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            bool first = i == 0, last = i + w == text.Length;
            var ch = text.Slice(i, w);
            i += w;
            int len = (!first && _prefix is not null ? _prefix.Length : 0) + w + (last && _suffix is not null ? _suffix.Length : 0);
            Span<char> symbol = len <= buffer.Length ? buffer[..len] : new char[len];
            int at = 0;
            if (!first && _prefix is not null) { _prefix.CopyTo(symbol); at = _prefix.Length; }
            ch.CopyTo(symbol[at..]);
            if (last && _suffix is not null) _suffix.CopyTo(symbol[(at + w)..]);

            if (_vocab.TryGet(symbol, out int id))
            {
                if (pendingUnk >= 0) { s.Push(pendingUnk); pendingUnk = -1; }
                s.Push(id);
                continue;
            }
            if (_byteFallback && TryPushBytes(symbol, s)) continue;
            if (_unkToken is not null)
            {
                if (_unkId < 0) throw new InvalidOperationException($"the BPE model's unk_token '{_unkToken}' is not in its vocabulary");
                if (pendingUnk >= 0 && !_fuseUnk) s.Push(pendingUnk);
                pendingUnk = _unkId;
            }
        }
        if (pendingUnk >= 0) s.Push(pendingUnk);
        MergeAll(s);
        s.CopyTo(ids);
    }

    /// <summary>The symbol's UTF-8 bytes as <c>&lt;0xNN&gt;</c> tokens, if every one of them exists.</summary>
    bool TryPushBytes(ReadOnlySpan<char> symbol, BpeScratch s)
    {
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(symbol.Length)];
        int n = Encoding.UTF8.GetBytes(symbol, bytes);
        for (int i = 0; i < n; i++) if (_byteFallbackIds[bytes[i]] < 0) return false;
        for (int i = 0; i < n; i++) s.Push(_byteFallbackIds[bytes[i]]);
        return true;
    }
}
