using SoftPrompt.Tokenizers.Decoders;
using SoftPrompt.Tokenizers.Models;
using SoftPrompt.Tokenizers.Normalizers;
using SoftPrompt.Tokenizers.PostProcessors;
using SoftPrompt.Tokenizers.PreTokenizers;

namespace SoftPrompt.Tokenizers;

/// <summary>
/// A Hugging Face tokenizer (<c>tokenizer.json</c>, or GPT-2's <c>vocab.json</c> + <c>merges.txt</c>)
/// that gives the same ids as the <c>tokenizers</c> library: added tokens are cut out first, the rest is
/// normalized, pre-tokenized and run through the model; special tokens come from the post-processor.
/// Safe to use from several threads at once.
/// </summary>
public sealed class Tokenizer
{
    readonly AddedVocabulary _added;
    readonly INormalizer? _normalizer;
    readonly IPreTokenizer? _preTokenizer;
    readonly ITokenizerModel _model;
    readonly IPostProcessor? _postProcessor;
    readonly IDecoder? _decoder;

    [ThreadStatic] static EncodeScratch? t_scratch;

    internal Tokenizer(AddedVocabulary added, INormalizer? normalizer, IPreTokenizer? preTokenizer, ITokenizerModel model,
        IPostProcessor? postProcessor, IDecoder? decoder)
    {
        _added = added;
        _normalizer = normalizer;
        _preTokenizer = preTokenizer;
        _model = model;
        _postProcessor = postProcessor;
        _decoder = decoder;
        VocabSize = Math.Max(model.VocabSize, added.MaxIdPlusOne);
    }

    /// <summary>Reads a <c>tokenizer.json</c>.</summary>
    public static Tokenizer FromFile(string tokenizerJsonPath) => TokenizerLoader.Load(tokenizerJsonPath);

    /// <summary>GPT-2's original files: <c>vocab.json</c> (a.k.a. encoder.json) and <c>merges.txt</c> (a.k.a. vocab.bpe).</summary>
    public static Tokenizer FromGpt2Files(string vocabJson, string mergesTxt) => Gpt2LegacyFiles.Load(vocabJson, mergesTxt);

    /// <summary>A checkpoint directory: its <c>tokenizer.json</c>, else its <c>vocab.json</c> + <c>merges.txt</c>.</summary>
    public static Tokenizer FromDirectory(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"tokenizer directory not found: {dir}");
        string json = Path.Combine(dir, "tokenizer.json");
        if (File.Exists(json)) return FromFile(json);
        string vocab = Path.Combine(dir, "vocab.json"), merges = Path.Combine(dir, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges)) return FromGpt2Files(vocab, merges);
        throw new FileNotFoundException($"{dir}: no tokenizer found (expected tokenizer.json, or vocab.json and merges.txt)");
    }

    /// <summary>One past the largest id, added tokens included: the rows an embedding table needs.</summary>
    public int VocabSize { get; }

    /// <summary>E.g. "BPE, ByteLevel pre-tokenizer, 50257 tokens".</summary>
    public string Description =>
        $"{_model.Name}, {(_preTokenizer is null ? "no" : _preTokenizer.Name)} pre-tokenizer{(_normalizer is null ? "" : $", {_normalizer.Name} normalizer")}, {VocabSize} tokens";

    public int? TokenToId(string token) => _added.ByContent(token)?.Id ?? _model.TokenToId(token);

    public string? IdToToken(int id) => _added.ById(id)?.Content ?? _model.IdToToken(id);

    /// <summary>The ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/>, the post-processor's special tokens too (e.g. BOS).</summary>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = t_scratch ??= new EncodeScratch();
        var ids = s.Ids;
        ids.Clear();
        EncodeInto(text, ids, s);
        if (addSpecialTokens && _postProcessor is not null) return [.. _postProcessor.AddSpecialTokens(ids)];
        return [.. ids];
    }

    void EncodeInto(string text, List<int> ids, EncodeScratch s)
    {
        var parts = s.RawParts;
        parts.Clear();
        _added.Split(Piece.Whole(text, atOriginalStart: true), normalizedPass: false, parts);
        foreach (var (part, tokenId) in parts)
        {
            if (tokenId >= 0) { ids.Add(tokenId); continue; }
            var segment = part;
            if (_normalizer is not null) segment = Piece.Whole(_normalizer.Normalize(part.Span.ToString()), part.AtOriginalStart);
            if (!_added.HasNormalizedTokens) { EncodeSegment(segment, ids, s); continue; }
            var inner = s.NormalizedParts;
            inner.Clear();
            _added.Split(segment, normalizedPass: true, inner);
            foreach (var (p, id) in inner)
                if (id >= 0) ids.Add(id);
                else EncodeSegment(p, ids, s);
        }
    }

    void EncodeSegment(Piece segment, List<int> ids, EncodeScratch s)
    {
        if (segment.Length == 0) return;
        var pre = s.PreTokenized;
        pre.Reset(segment);
        _preTokenizer?.PreTokenize(pre);
        _model.Encode(pre, ids);
    }

    /// <summary>The text of <paramref name="ids"/>; unknown ids are skipped, as are special tokens when asked.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            string? t = IdToToken(id);
            if (t is null) continue;
            if (skipSpecialTokens && _added.ByContent(t) is { Special: true }) continue;
            tokens.Add(t);
        }
        if (_decoder is null) return string.Join(' ', tokens);
        return string.Concat(_decoder.DecodeChain(tokens));
    }

    /// <summary>A decoder for ids that arrive one at a time (generation): each push returns the text it completes.</summary>
    public TokenStreamDecoder CreateStreamDecoder(bool skipSpecialTokens = false) => new(this, skipSpecialTokens);

    internal ITokenizerModel Model => _model;
    internal IPreTokenizer? PreTokenizer => _preTokenizer;

    /// <summary>One thread's reusable lists for encoding.</summary>
    sealed class EncodeScratch
    {
        public readonly List<int> Ids = new(256);
        public readonly List<(Piece, int)> RawParts = [], NormalizedParts = [];
        public readonly PreTokenizedString PreTokenized = new();
    }
}
