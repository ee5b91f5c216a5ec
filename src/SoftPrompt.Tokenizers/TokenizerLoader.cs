using SoftPrompt.Tokenizers.Decoders;
using SoftPrompt.Tokenizers.Models;
using SoftPrompt.Tokenizers.Normalizers;
using SoftPrompt.Tokenizers.PostProcessors;
using SoftPrompt.Tokenizers.PreTokenizers;

namespace SoftPrompt.Tokenizers;

/// <summary>Builds a <see cref="Tokenizer"/> from the JSON of a <c>tokenizer.json</c>, one component kind at a time.</summary>
internal static class TokenizerLoader
{
    public static Tokenizer Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileNotFoundException($"cannot read tokenizer file {path}: {e.Message}", path, e);
        }
        return FromJson(TokenizerJson.Parse(text, path));
    }

    public static Tokenizer FromJson(TokenizerJson root)
    {
        if (root.Kind != System.Text.Json.JsonValueKind.Object) throw root.Error("expected a JSON object");
        var model = Model(root.Get("model"));
        var normalizer = root.TryGet("normalizer", out var n) ? Normalizer(n) : null;
        var pre = root.TryGet("pre_tokenizer", out var p) ? PreTokenizer(p) : null;
        var post = root.TryGet("post_processor", out var pp) ? PostProcessor(pp) : null;
        var decoder = root.TryGet("decoder", out var d) ? Decoder(d) : null;
        var added = AddedVocabulary.FromJson(root.TryGet("added_tokens", out var a) ? a : default);
        DeferByteLevel(pre, model);
        return new Tokenizer(added, normalizer, pre, model, post, decoder);
    }

    /// <summary>When ByteLevel is the last pre-tokenizer and the BPE model can map bytes to ids itself, let it.</summary>
    static void DeferByteLevel(IPreTokenizer? pre, ITokenizerModel model)
    {
        if (model is not BpeModel { CanTakeRawBytes: true }) return;
        var last = pre is SequencePreTokenizer seq && seq.Steps.Count > 0 ? seq.Steps[^1] : pre;
        if (last is ByteLevelPreTokenizer bl) bl.DeferBytes = true;
    }

    static ITokenizerModel Model(TokenizerJson json)
    {
        // Older files leave the type out; Hugging Face then tells the models apart by their fields.
        string type = json.TryGet("type", out var t) ? t.String()
            : json.TryGet("merges", out _) ? "BPE"
            : json.Get("vocab").Kind == System.Text.Json.JsonValueKind.Array ? "Unigram"
            : json.TryGet("max_input_chars_per_word", out _) ? "WordPiece" : "WordLevel";
        return type switch
        {
            "BPE" => BpeModel.FromJson(json),
            "WordPiece" => WordPieceModel.FromJson(json),
            "WordLevel" => WordLevelModel.FromJson(json),
            "Unigram" => UnigramModel.FromJson(json),
            _ => throw json.UnknownType("model", "BPE, WordPiece, WordLevel, Unigram"),
        };
    }

    static INormalizer Normalizer(TokenizerJson json) => json.TypeName() switch
    {
        "Sequence" => new SequenceNormalizer(json.Get("normalizers").Items().Select(Normalizer).ToArray()),
        "NFC" => new UnicodeNormalizer("NFC", compose: true, compatibility: false),
        "NFD" => new UnicodeNormalizer("NFD", compose: false, compatibility: false),
        "NFKC" => new UnicodeNormalizer("NFKC", compose: true, compatibility: true),
        "NFKD" => new UnicodeNormalizer("NFKD", compose: false, compatibility: true),
        "Lowercase" => new LowercaseNormalizer(),
        "Strip" => new StripNormalizer(json.OptBool("strip_left", true), json.OptBool("strip_right", true)),
        "StripAccents" => new StripAccentsNormalizer(),
        "Replace" => new ReplaceNormalizer(json),
        "Prepend" => new PrependNormalizer(json.Get("prepend").String()),
        "BertNormalizer" => new BertNormalizer(json.OptBool("clean_text", true), json.OptBool("handle_chinese_chars", true),
            json.TryGet("strip_accents", out var sa) ? sa.Bool() : null, json.OptBool("lowercase", true)),
        "Precompiled" => PrecompiledNormalizer.FromJson(json),
        _ => throw json.UnknownType("normalizer", "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, BertNormalizer, Precompiled"),
    };

    static IPreTokenizer PreTokenizer(TokenizerJson json) => json.TypeName() switch
    {
        "Sequence" => new SequencePreTokenizer(json.Get("pretokenizers").Items().Select(PreTokenizer).ToArray()),
        "ByteLevel" => new ByteLevelPreTokenizer(json.OptBool("add_prefix_space", true), json.OptBool("use_regex", true)),
        "Split" => SplitPreTokenizer.FromJson(json),
        "Metaspace" => new MetaspacePreTokenizer(MetaspacePreTokenizer.ParseReplacement(json), MetaspacePreTokenizer.ParseScheme(json), json.OptBool("split", true)),
        "Whitespace" => new WhitespacePreTokenizer(),
        "WhitespaceSplit" => CharacterSplitPreTokenizer.WhitespaceSplit(),
        "BertPreTokenizer" => CharacterSplitPreTokenizer.Bert(),
        "Punctuation" => CharacterSplitPreTokenizer.Punctuation(json.TryGet("behavior", out var b) ? Splitter.Parse(b) : SplitBehavior.Isolated),
        "Digits" => CharacterSplitPreTokenizer.Digits(json.OptBool("individual_digits", false)),
        "CharDelimiterSplit" => CharacterSplitPreTokenizer.CharDelimiter(SingleChar(json.Get("delimiter"))),
        _ => throw json.UnknownType("pre-tokenizer", "Sequence, ByteLevel, Split, Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, Digits, CharDelimiterSplit"),
    };

    static IPostProcessor PostProcessor(TokenizerJson json) => json.TypeName() switch
    {
        "Sequence" => new SequencePostProcessor(json.Get("processors").Items().Select(PostProcessor).ToArray()),
        "TemplateProcessing" => new TemplatePostProcessor(json),
        "ByteLevel" => new ByteLevelPostProcessor(),
        "BertProcessing" or "RobertaProcessing" => ClsSepPostProcessor.FromJson(json),
        _ => throw json.UnknownType("post-processor", "Sequence, TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing"),
    };

    static IDecoder Decoder(TokenizerJson json) => json.TypeName() switch
    {
        "Sequence" => new SequenceDecoder(json.Get("decoders").Items().Select(Decoder).ToArray()),
        "ByteLevel" => new ByteLevelDecoder(),
        "ByteFallback" => new ByteFallbackDecoder(),
        "Fuse" => new FuseDecoder(),
        "Strip" => new StripDecoder(SingleChar(json.Get("content")), json.OptInt("start", 0), json.OptInt("stop", 0)),
        "Replace" => new ReplaceDecoder(new ReplaceNormalizer(json)),
        "Metaspace" => new MetaspaceDecoder(MetaspacePreTokenizer.ParseReplacement(json), MetaspacePreTokenizer.ParseScheme(json) != PrependScheme.Never),
        "WordPiece" => new WordPieceDecoder(json.OptString("prefix") ?? "##", json.OptBool("cleanup", true)),
        "BPEDecoder" => new BpeSuffixDecoder(json.OptString("suffix") ?? "</w>"),
        _ => throw json.UnknownType("decoder", "Sequence, ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, WordPiece, BPEDecoder"),
    };

    static char SingleChar(TokenizerJson json)
    {
        string s = json.String();
        return s.Length == 1 ? s[0] : throw json.Error($"expected a single character, found \"{s}\"");
    }
}
