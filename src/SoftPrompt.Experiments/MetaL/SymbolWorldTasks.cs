using System.Text.Json;
using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The symbol world as a task collection for <c>softprompt metal train</c>: DIR/train, DIR/validation (rules of the
/// training maps and orders), DIR/test (unseen maps, training orders) and DIR/test-heldout (the held-out family of merging maps),
/// one JSONL file a rule, {"input": "abcde", "output": "aFbGcHdIeJ"} per line; the episode format is separator '>' and
/// delimiter '|', so a demonstration reads "abcde> aFbGcHdIeJ|" as in the target's pretraining.
/// </summary>
public static class SymbolWorldTasks
{
    public const string Separator = ">", Delimiter = "|";

    public static void Write(string directory, int train = 400, int validation = 32, int test = 32, int heldOut = 32, int examples = 64, ulong seed = 11)
    {
        var rng = new Rng(seed);
        foreach (var (folder, count, split) in new[] { ("train", train, WorldSplit.Train), ("validation", validation, WorldSplit.Train), ("test", test, WorldSplit.UnseenRules), ("test-heldout", heldOut, WorldSplit.HeldOutFamily) })
        {
            string dir = Path.Combine(directory, folder);
            Directory.CreateDirectory(dir);
            var names = new HashSet<string>();
            while (names.Count < count)
            {
                var rule = SymbolWorld.RandomRule(rng, split);
                if (!names.Add(rule.Name)) continue;
                var lines = Enumerable.Range(0, examples).Select(_ =>
                {
                    var x = SymbolWorld.RandomInput(rng);
                    return JsonSerializer.Serialize(new Dictionary<string, string> { ["input"] = SymbolWorld.Text(x), ["output"] = SymbolWorld.Text(rule.Apply(x)) });
                });
                File.WriteAllLines(Path.Combine(dir, rule.Name + ".jsonl"), lines);
            }
        }
    }
}
