using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.MetaL.Tests;

/// <summary>Characters as token ids for the tiny fixture models (vocabulary 61 and 67): id = 3 + code % 50.</summary>
sealed class CharEncoder : ITextEncoder
{
    public int[] Encode(string text, bool addSpecialTokens = false) => [.. text.Select(c => 3 + c % 50)];

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => new([.. ids.ToArray().Select(i => (char)('0' + (i - 3) % 50))]);
}

/// <summary>Small task collections written to a temporary folder: each task maps short letter strings by a shift of its own.</summary>
static class TestWorld
{
    public static string WriteTasks(string dir, int tasks, int examples, int seed = 1)
    {
        var rng = new Rng((ulong)seed);
        Directory.CreateDirectory(dir);
        for (int t = 0; t < tasks; t++)
        {
            int shift = 1 + t % 5;
            var lines = Enumerable.Range(0, examples).Select(_ =>
            {
                string x = new([.. Enumerable.Range(0, 3).Select(_ => (char)('a' + rng.NextInt(8)))]);
                string y = new([.. x.Select(c => (char)('a' + (c - 'a' + shift) % 8))]);
                return $"{{\"input\": \"{x}\", \"output\": \"{y}\"}}";
            });
            File.WriteAllLines(Path.Combine(dir, $"shift{t:D2}.jsonl"), lines);
        }
        return dir;
    }

    public static IReadOnlyList<Example> Examples(int n, int shift = 2, int seed = 5) =>
        [.. MetaTask.Load(WriteTasks(Directory.CreateTempSubdirectory("softprompt-metal-examples-").FullName, 1, n, seed) + "/shift00.jsonl").Examples];
}
