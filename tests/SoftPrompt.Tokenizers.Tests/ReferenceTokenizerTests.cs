using System.Text;
using static SoftPrompt.Tokenizers.Tests.TokenizerFixtures;

namespace SoftPrompt.Tokenizers.Tests;

/// <summary>
/// Every corpus line through each tokenizer, against Hugging Face tokenizers 0.23.2's output for the same
/// file (tests/fixtures/tokenizers/expected/). The real tokenizers come from tools/fetch_tokenizers.sh.
/// </summary>
public sealed class ReferenceTokenizerTests
{
    /// <summary>(tokenizer to load, reference it must match).</summary>
    public static TheoryData<string, string> Tokenizers => new()
    {
        { "gpt2-legacy", "gpt2" }, { "gpt2", "gpt2" }, { "llama2", "llama2" }, { "llama3", "llama3" }, { "qwen3", "qwen3" },
        { "wordpiece", "wordpiece" }, { "unigram", "unigram" },
    };

    [Theory, MemberData(nameof(Tokenizers))]
    public void IdsEqualTheReference(string name, string reference)
    {
        var t = Load(name);
        var failures = new StringBuilder();
        int bad = 0;
        foreach (var (line, i) in ExpectedFor(reference).Lines.Select((l, i) => (l, i)))
        {
            int[] ids = t.Encode(line.Text);
            if (ids.SequenceEqual(line.Ids)) continue;
            if (bad++ < 5) failures.AppendLine($"line {i + 1} {Show(line.Text)}:\n{ShowDifference(line.Ids, ids)}");
        }
        Assert.True(bad == 0, $"{name}: {bad} of {Corpus.Length} lines differ from {reference}\n{failures}");
    }

    [Theory, MemberData(nameof(Tokenizers))]
    public void IdsWithSpecialTokensEqualTheReference(string name, string reference)
    {
        var t = Load(name);
        var failures = new StringBuilder();
        int bad = 0;
        foreach (var (line, i) in ExpectedFor(reference).Lines.Select((l, i) => (l, i)))
        {
            int[] ids = t.Encode(line.Text, addSpecialTokens: true);
            if (ids.SequenceEqual(line.IdsWithSpecial)) continue;
            if (bad++ < 5) failures.AppendLine($"line {i + 1} {Show(line.Text)}:\n{ShowDifference(line.IdsWithSpecial, ids)}");
        }
        Assert.True(bad == 0, $"{name}: {bad} lines differ\n{failures}");
    }

    [Theory, MemberData(nameof(Tokenizers))]
    public void DecodeEqualsTheReference(string name, string reference)
    {
        var t = Load(name);
        var failures = new StringBuilder();
        int bad = 0;
        foreach (var (line, i) in ExpectedFor(reference).Lines.Select((l, i) => (l, i)))
        {
            string decoded = t.Decode(line.Ids);
            string skipped = t.Decode(line.IdsWithSpecial, skipSpecialTokens: true);
            if (decoded == line.Decode && skipped == line.DecodeSkip) continue;
            if (bad++ < 5) failures.AppendLine($"line {i + 1}: expected {Show(line.Decode)} / {Show(line.DecodeSkip)}\n  actual {Show(decoded)} / {Show(skipped)}");
        }
        Assert.True(bad == 0, $"{name}: {bad} lines decode differently\n{failures}");
    }

    [Theory]
    [InlineData("gpt2-legacy")]
    [InlineData("gpt2")]
    [InlineData("llama3")]
    public void ByteLevelTokenizersAreLossless(string name)
    {
        var t = Load(name);
        foreach (string line in Corpus)
            Assert.Equal(line, t.Decode(t.Encode(line)));
    }

    [Theory, MemberData(nameof(Tokenizers))]
    public void StreamDecodingConcatenatesToDecode(string name, string reference)
    {
        var t = Load(name);
        foreach (var line in ExpectedFor(reference).Lines)
            foreach (bool skip in new[] { false, true })
            {
                var stream = t.CreateStreamDecoder(skip);
                var sb = new StringBuilder();
                foreach (int id in line.IdsWithSpecial) sb.Append(stream.Push(id));
                sb.Append(stream.Flush());
                Assert.Equal(t.Decode(line.IdsWithSpecial, skip), sb.ToString());
            }
    }

    [Fact]
    public void StreamDecoderHoldsBackAnIncompleteCharacter()
    {
        var t = Load("gpt2");
        int[] ids = t.Encode("a😀");   // the emoji's four bytes come as more than one token
        Assert.True(ids.Length >= 3, Show(ids));
        var stream = t.CreateStreamDecoder();
        Assert.Equal("a", stream.Push(ids[0]));
        var pieces = ids[1..].Select(stream.Push).ToList();
        Assert.All(pieces[..^1], p => Assert.Equal("", p));
        Assert.Equal("😀", pieces[^1]);
        Assert.Equal("", stream.Flush());
    }

    [Theory]
    [InlineData("gpt2-legacy", 50257, "BPE, ByteLevel pre-tokenizer, 50257 tokens")]
    [InlineData("gpt2", 50257, "BPE, ByteLevel pre-tokenizer, 50257 tokens")]
    [InlineData("llama3", 128256, "BPE")]
    [InlineData("qwen3", 151669, "NFC normalizer")]
    [InlineData("llama2", 32000, "BPE, no pre-tokenizer")]
    public void VocabularySizeAndDescription(string name, int size, string description)
    {
        var t = Load(name);
        Assert.Equal(size, t.VocabSize);
        Assert.Contains(description, t.Description);
    }

    [Fact]
    public void TokenAndIdLookupsIncludeAddedTokens()
    {
        var t = Load("llama3");
        Assert.Equal(128000, t.TokenToId("<|begin_of_text|>"));
        Assert.Equal("<|begin_of_text|>", t.IdToToken(128000));
        Assert.Equal("Hello", t.IdToToken(9906));
        Assert.Equal(9906, t.TokenToId("Hello"));
        Assert.Null(t.TokenToId("no such token here"));
        Assert.Null(t.IdToToken(-1));
        Assert.Null(t.IdToToken(10_000_000));
    }
}
