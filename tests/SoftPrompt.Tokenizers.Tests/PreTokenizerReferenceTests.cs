using System.Text;
using System.Text.Json;
using SoftPrompt.Tokenizers;
using static SoftPrompt.Tokenizers.Tests.TokenizerFixtures;

namespace SoftPrompt.Tokenizers.Tests;

/// <summary>
/// Pre-tokenizers alone, in configurations the real tokenizers do not exercise (every Split behavior and
/// invert, Digits, Punctuation, Whitespace, Metaspace schemes, ...), against the pieces Hugging Face cuts
/// every 40th corpus line into (expected/pretokenizers.jsonl, tools/tokenizer_reference.js --pretokenizers).
/// </summary>
public sealed class PreTokenizerReferenceTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-pretok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<int> Configurations()
    {
        var data = new TheoryData<int>();
        int n = File.ReadAllLines(Path.Combine(FixtureDir, "expected", "pretokenizers.jsonl")).Count(l => l.Length > 0);
        for (int i = 0; i < n; i++) data.Add(i);
        return data;
    }

    [Theory, MemberData(nameof(Configurations))]
    public void PiecesEqualTheReference(int index)
    {
        string row = File.ReadAllLines(Path.Combine(FixtureDir, "expected", "pretokenizers.jsonl")).Where(l => l.Length > 0).ElementAt(index);
        using var doc = JsonDocument.Parse(row);
        string config = doc.RootElement.GetProperty("config").GetRawText();
        string file = Path.Combine(_dir, "tokenizer.json");
        File.WriteAllText(file, $$"""{"model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}, "pre_tokenizer": {{config}}}""");
        var pre = Tokenizer.FromFile(file).PreTokenizer!;
        string[] lines = Corpus.Where((_, i) => i % 40 == 0).ToArray();
        var expected = doc.RootElement.GetProperty("pieces").EnumerateArray().Select(a => a.EnumerateArray().Select(p => p.GetString()!).ToArray()).ToArray();
        Assert.Equal(lines.Length, expected.Length);
        var failures = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            var text = new PreTokenizedString();
            text.Reset(Piece.Whole(lines[i], atOriginalStart: true));
            pre.PreTokenize(text);
            string[] actual = text.Pieces.Select(p => p.Span.ToString()).ToArray();
            if (!actual.SequenceEqual(expected[i]) && failures.Length < 2000)
                failures.AppendLine($"line {Show(lines[i])}\n  expected {JsonSerializer.Serialize(expected[i])}\n  actual   {JsonSerializer.Serialize(actual)}");
        }
        Assert.True(failures.Length == 0, $"{config}\n{failures}");
    }
}
