using SoftPrompt.Tokenizers.Decoders;
using SoftPrompt.Tokenizers.Models;
using SoftPrompt.Tokenizers.PostProcessors;
using SoftPrompt.Tokenizers.PreTokenizers;

namespace SoftPrompt.Tokenizers;

/// <summary>
/// GPT-2's original tokenizer files, <c>vocab.json</c> (encoder.json) and <c>merges.txt</c> (vocab.bpe),
/// assembled as Hugging Face's GPT2TokenizerFast does: byte-level BPE, GPT-2's split, no prefix space,
/// and <c>&lt;|endoftext|&gt;</c> as a special token.
/// </summary>
internal static class Gpt2LegacyFiles
{
    public const string EndOfText = "<|endoftext|>";

    public static Tokenizer Load(string vocabJson, string mergesTxt)
    {
        string text;
        try { text = File.ReadAllText(vocabJson); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new FileNotFoundException($"cannot read {vocabJson}: {e.Message}", vocabJson, e); }
        var vocab = Vocabulary.FromJson(TokenizerJson.Parse(text, vocabJson));

        string[] lines;
        try { lines = File.ReadAllLines(mergesTxt); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new FileNotFoundException($"cannot read {mergesTxt}: {e.Message}", mergesTxt, e); }
        var merges = new Dictionary<long, BpeModel.Merge>(lines.Length);
        int rank = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (i == 0 && line.StartsWith("#version", StringComparison.Ordinal)) continue;
            if (line.Length == 0) continue;
            string[] parts = line.Split(' ');
            if (parts.Length != 2) throw new TokenizerFormatException(mergesTxt, $"line {i + 1}", $"expected two tokens separated by one space, found \"{line}\"");
            BpeModel.AddMerge(merges, vocab, parts[0], parts[1], rank++, null, mergesTxt, $"line {i + 1}");
        }

        var model = new BpeModel(vocab, merges, unkToken: null, fuseUnk: false, byteFallback: false, ignoreMerges: false, null, null);
        var pre = new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true) { DeferBytes = model.CanTakeRawBytes };
        var added = new List<AddedToken>();
        if (vocab.Get(EndOfText) is { } eos) added.Add(new AddedToken(eos, EndOfText, Special: true, false, false, false, Normalized: false));
        return new Tokenizer(new AddedVocabulary(added), null, pre, model, new ByteLevelPostProcessor(), new ByteLevelDecoder());
    }
}
