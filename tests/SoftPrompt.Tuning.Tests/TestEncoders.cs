using System.Text;
using System.Text.RegularExpressions;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

/// <summary>One id per character: id = char + 3; 0 is the pad/placeholder, 1 BOS, 2 EOS.</summary>
sealed class CharEncoder : ITextEncoder
{
    public const int Bos = 1, Eos = 2;

    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        var ids = text.Select(c => c + 3).ToList();
        if (addSpecialTokens) { ids.Insert(0, Bos); ids.Add(Eos); }
        return ids.ToArray();
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        foreach (int id in ids)
        {
            if (id < 3) { if (!skipSpecialTokens) sb.Append(id switch { 0 => "<pad>", 1 => "<s>", _ => "</s>" }); }
            else sb.Append((char)(id - 3));
        }
        return sb.ToString();
    }
}

/// <summary>
/// Words with GPT-2's habit of folding a leading space into the word (" great" and "great" are different
/// tokens); ids are handed out on first sight, from 10.
/// </summary>
sealed partial class WordEncoder : ITextEncoder
{
    readonly Dictionary<string, int> _ids = [];
    readonly List<string> _words = [];

    [GeneratedRegex(@" ?\S+|\s+")]
    private static partial Regex Pieces();

    public int[] Encode(string text, bool addSpecialTokens = false) =>
        Pieces().Matches(text).Select(m => Id(m.Value)).ToArray();

    public int Id(string word)
    {
        if (!_ids.TryGetValue(word, out int id)) { id = 10 + _words.Count; _ids[word] = id; _words.Add(word); }
        return id;
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(id >= 10 ? _words[id - 10] : "");
        return sb.ToString();
    }
}

static class Fixture
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "tuning", name);
}
