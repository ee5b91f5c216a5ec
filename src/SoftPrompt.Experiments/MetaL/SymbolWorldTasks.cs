using System.Text.Json;
using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The symbol world as a task collection for <c>softprompt metal train</c>: DIR/train, DIR/validation (rules of the
/// training maps outside the held-out family), DIR/test (unseen maps outside it) and DIR/test-heldout (unseen maps of the
/// held-out family, a→A, which meta-training never shows),
/// one JSONL file a rule, {"input": "abcde", "output": "aFbGcHdIeJ"} per line; the episode format is separator '>' and
/// delimiter '|', so a demonstration reads "abcde> aFbGcHdIeJ|" as in the target's pretraining.
/// </summary>
public static class SymbolWorldTasks
{
    public const string Separator = ">", Delimiter = "|";

    /// <summary>
    /// This world's name in a collection's stamp and in a report's row key: "a-to-A" since the held-out family became
    /// the maps sending a to A (the rows and tasks of the earlier world, "merging", are not reused).
    /// </summary>
    public const string World = "a-to-A", StampFile = "world.txt";

    public static void Write(string directory, int train = 400, int validation = 32, int test = 32, int heldOut = 32, int examples = 64, ulong seed = 11)
    {
        var rng = new Rng(seed);
        foreach (var (folder, count, split) in new[] { ("train", train, WorldSplit.MetaTrain), ("validation", validation, WorldSplit.MetaTrain), ("test", test, WorldSplit.UnseenRules), ("test-heldout", heldOut, WorldSplit.HeldOutFamily) })
        {
            string dir = Path.Combine(directory, folder);
            Directory.CreateDirectory(dir);
            var names = new HashSet<string>();
            while (names.Count < count)
            {
                var rule = SymbolWorld.RandomRule(rng, split);
                if (!names.Add(rule.Name)) continue;
                WriteExamples(Path.Combine(dir, rule.Name + ".jsonl"), rule, examples, rng);
            }
        }
    }

    /// <summary>A random input and its output under rule, as an example's "input" and "output" text.</summary>
    public static (string Input, string Output) Draw(SymbolRule rule, Rng rng)
    {
        var x = SymbolWorld.RandomInput(rng);
        return (SymbolWorld.Text(x), SymbolWorld.Text(rule.Apply(x)));
    }

    /// <summary>count examples of rule as a JSONL task file ({"input", "output"} a line).</summary>
    public static void WriteExamples(string path, SymbolRule rule, int count, Rng rng) =>
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(_ =>
        {
            var (input, output) = Draw(rule, rng);
            return JsonSerializer.Serialize(new Dictionary<string, string> { ["input"] = input, ["output"] = output });
        }));
}
