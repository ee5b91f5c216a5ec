using System.Text.Json;
using SoftPrompt.Tokenizers;

namespace SoftPrompt.Tokenizers.Tests;

/// <summary>
/// The corpus (tests/fixtures/tokenizers/corpus.jsonl), the Hugging Face reference output for it
/// (expected/NAME.jsonl, written by tools/tokenizer_reference.js), and the tokenizers they were made
/// with: the real ones in .cache/tokenizers (tools/fetch_tokenizers.sh) and the small committed ones.
/// </summary>
internal static class TokenizerFixtures
{
    public static readonly string RepoRoot = FindRepoRoot();
    public static string FixtureDir => Path.Combine(RepoRoot, "tests", "fixtures", "tokenizers");
    public static string CacheDir => Path.Combine(RepoRoot, ".cache", "tokenizers");

    static string FindRepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "SoftPrompt.sln"))) return d.FullName;
        throw new InvalidOperationException("SoftPrompt.sln not found above the test binaries");
    }

    static readonly Lazy<string[]> CorpusLines = new(() =>
        File.ReadAllLines(Path.Combine(FixtureDir, "corpus.jsonl")).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<string>(l)!).ToArray());

    public static string[] Corpus => CorpusLines.Value;

    /// <summary>A file under .cache/tokenizers, or a failure that says how to get it.</summary>
    public static string Cached(string relative)
    {
        string path = Path.Combine(CacheDir, relative);
        if (!File.Exists(path))
            throw new InvalidOperationException($"{path} is missing: run tools/fetch_tokenizers.sh (it downloads the reference tokenizers into .cache/tokenizers)");
        return path;
    }

    static readonly Dictionary<string, Tokenizer> Loaded = [];

    /// <summary>The tokenizer a reference name stands for (loaded once per test run).</summary>
    public static Tokenizer Load(string name)
    {
        lock (Loaded)
        {
            if (Loaded.TryGetValue(name, out var t)) return t;
            t = name switch
            {
                "gpt2-legacy" => Tokenizer.FromGpt2Files(Cached("gpt2/vocab.json"), Cached("gpt2/merges.txt")),
                "gpt2" or "llama2" or "llama3" or "qwen3" => Tokenizer.FromFile(Cached($"{name}/tokenizer.json")),
                _ => Tokenizer.FromFile(Path.Combine(FixtureDir, name, "tokenizer.json")),
            };
            Loaded[name] = t;
            return t;
        }
    }

    /// <summary>The reference for one tokenizer: a record per corpus line.</summary>
    public sealed record Expected(int[] SpecialPrefix, int[] SpecialSuffix, Line[] Lines);

    public sealed record Line(string Text, int[] Ids, int[] IdsWithSpecial, string Decode, string DecodeSkip);

    static readonly Dictionary<string, Expected> ExpectedCache = [];

    public static Expected ExpectedFor(string reference)
    {
        lock (ExpectedCache)
        {
            if (ExpectedCache.TryGetValue(reference, out var e)) return e;
            var rows = File.ReadAllLines(Path.Combine(FixtureDir, "expected", reference + ".jsonl")).Where(l => l.Length > 0).ToArray();
            using var header = JsonDocument.Parse(rows[0]);
            int[] prefix = Ints(header.RootElement.GetProperty("special_prefix")), suffix = Ints(header.RootElement.GetProperty("special_suffix"));
            var corpus = Corpus;
            if (rows.Length - 1 != corpus.Length) throw new InvalidOperationException($"expected/{reference}.jsonl has {rows.Length - 1} lines for {corpus.Length} corpus lines: rerun tools/tokenizer_reference.js");
            var lines = new Line[corpus.Length];
            for (int i = 0; i < corpus.Length; i++)
            {
                using var doc = JsonDocument.Parse(rows[i + 1]);
                var r = doc.RootElement;
                int[] ids = Ints(r.GetProperty("ids"));
                int[] special = r.TryGetProperty("special", out var s) ? Ints(s) : [.. prefix, .. ids, .. suffix];
                string decode = r.TryGetProperty("decode", out var d) ? d.GetString()! : corpus[i];
                string skip = r.TryGetProperty("decode_skip", out var k) ? k.GetString()! : decode;
                lines[i] = new Line(corpus[i], ids, special, decode, skip);
            }
            return ExpectedCache[reference] = new Expected(prefix, suffix, lines);
        }
    }

    static int[] Ints(JsonElement array) => array.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    /// <summary>A readable line for failure messages.</summary>
    public static string Show(string text) => JsonSerializer.Serialize(text.Length > 120 ? text[..120] + "…" : text);

    /// <summary>Both id lists from a few ids before their first difference.</summary>
    public static string ShowDifference(int[] expected, int[] actual)
    {
        int at = 0;
        while (at < expected.Length && at < actual.Length && expected[at] == actual[at]) at++;
        int from = Math.Max(0, at - 3);
        return $"  first difference at {at} (of {expected.Length} / {actual.Length})\n  expected …{Show(expected[from..])}\n  actual   …{Show(actual[from..])}";
    }

    public static string Show(int[] ids) => "[" + string.Join(",", ids.Take(40)) + (ids.Length > 40 ? ",…" : "") + "]";
}
