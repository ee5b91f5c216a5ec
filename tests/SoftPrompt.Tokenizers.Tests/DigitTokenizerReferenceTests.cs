using System.Text.Json;
using SoftPrompt.Tokenizers;
using static SoftPrompt.Tokenizers.Tests.TokenizerFixtures;

namespace SoftPrompt.Tokenizers.Tests;

/// <summary>
/// The digit tokenizer.json shipped with every Petrov model (models/petrov/*/), against what Hugging Face's library makes of
/// it (expected/digits.jsonl, tools/tokenizer_reference.js --digits): ids and decodes of digit strings with and without
/// whitespace, and a refusal, naming the character, wherever the library refuses the text.
/// </summary>
public sealed class DigitTokenizerReferenceTests
{
    [Fact]
    public void EveryShippedModelsTokenizerEncodesAndDecodesAsTheReference()
    {
        var rows = File.ReadAllLines(Path.Combine(FixtureDir, "expected", "digits.jsonl")).Where(l => l.Length > 0).ToArray();
        Assert.True(rows.Length >= 50);
        foreach (var dir in Directory.GetDirectories(Path.Combine(RepoRoot, "models", "petrov")))
        {
            var tokenizer = Tokenizer.FromDirectory(dir);
            foreach (var row in rows)
            {
                using var doc = JsonDocument.Parse(row);
                string text = doc.RootElement.GetProperty("text").GetString()!;
                if (doc.RootElement.TryGetProperty("error", out _))
                {
                    var e = Assert.ThrowsAny<Exception>(() => tokenizer.Encode(text));
                    Assert.Contains("not in the vocabulary", e.Message);
                    continue;
                }
                int[] expected = [.. doc.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32())];
                var ids = tokenizer.Encode(text);
                Assert.True(expected.SequenceEqual(ids), $"{dir}: '{text}' gave [{string.Join(",", ids)}], the reference [{string.Join(",", expected)}]");
                Assert.Equal(doc.RootElement.GetProperty("decode").GetString(), tokenizer.Decode(ids));
            }
        }
    }
}
