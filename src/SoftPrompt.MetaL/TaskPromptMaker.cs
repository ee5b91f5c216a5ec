using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.MetaL;

/// <summary>A task's prompt made by the PGM: the prompt, the examples kept as text after it (X_L), the passes it took.</summary>
public sealed record TaskPrompt(GeneratedPrompt Prompt, IReadOnlyList<Example> TextDemonstrations, int PromptDemonstrations, int Passes);

/// <summary>
/// The user's step on a language-model service: a few examples of a new task become a prompt in one PGM pass (or one
/// pass per chunk when they do not fit), with no training; the prompt is saved as an ordinary adapter and reused for
/// every later request of the task.
/// </summary>
public static class TaskPromptMaker
{
    /// <summary>
    /// Splits the examples into X_P (all but the last textDemonstrations) and X_L (those), then runs the PGM over X_P —
    /// in chunks that fit the model, each pass reading the previous pass's prompt first — with no gradient.
    /// </summary>
    public static TaskPrompt Make(ICausalLanguageModel model, PromptGenerator pgm, EpisodeFormat format, ITextEncoder encoder,
        IReadOnlyList<Example> examples, int textDemonstrations, string source = "the examples")
    {
        if (examples.Count == 0) throw new DataFormatException($"{source}: no examples.");
        if (textDemonstrations < 0 || textDemonstrations >= examples.Count)
            throw new ArgumentException($"{source}: {examples.Count} examples cannot keep {textDemonstrations} as text demonstrations and still give the PGM one.");
        var xp = examples.Take(examples.Count - textDemonstrations).ToArray();
        var xl = examples.Skip(examples.Count - textDemonstrations).ToArray();
        using var noGrad = Tape.NoGrad();
        pgm.Eval();
        GeneratedPrompt? prompt = null;
        int passes = 0;
        foreach (var chunk in Chunks(xp, format, encoder, pgm.DemonstrationBudget(model, afterPrevious: false), pgm.DemonstrationBudget(model, afterPrevious: true), source))
        {
            prompt = pgm.Generate(model, chunk, previous: prompt);
            passes++;
        }
        return new TaskPrompt(Detached(prompt!), xl, xp.Length, passes);
    }

    /// <summary>
    /// X_P's token ids in chunks of whole demonstrations: the first fits firstBudget positions, the later ones laterBudget
    /// (they follow the previous prompt). An example that fits no chunk alone is an error naming it.
    /// </summary>
    internal static IEnumerable<int[]> Chunks(IReadOnlyList<Example> examples, EpisodeFormat format, ITextEncoder encoder, int firstBudget, int laterBudget, string source)
    {
        var current = new List<Example>();
        int[] currentIds = [];
        int budget = firstBudget;
        foreach (var e in examples)
        {
            var withIt = encoder.Encode(format.Demonstrations([.. current, e]));
            if (withIt.Length <= budget) { current.Add(e); currentIds = withIt; continue; }
            if (current.Count == 0 || encoder.Encode(format.Demonstration(e)).Length > laterBudget)
                throw new ArgumentException($"{e.Where}: this example alone takes more positions than a PGM pass has for demonstrations ({(current.Count == 0 ? budget : laterBudget)}); shorten it.");
            yield return currentIds;
            budget = laterBudget;
            current = [e];
            currentIds = encoder.Encode(format.Demonstration(e));
        }
        if (current.Count > 0) yield return currentIds;
    }

    static GeneratedPrompt Detached(GeneratedPrompt p) => p with
    {
        Tokens = p.Tokens?.HeapCopy(),
        Prefix = p.Prefix is { } kv ? new Models.Plans.KvPrefix([.. kv.Keys.Select(k => k.HeapCopy())], [.. kv.Values.Select(v => v.HeapCopy())]) : null,
    };

    /// <summary>
    /// The adapter template of a task prompt: the prompt's slots ({soft:M}, none for a prefix), the X_L demonstrations as
    /// literal text, then the request's input and the answer — what the target LM read while meta-training.
    /// </summary>
    public static string Template(TaskPrompt task, EpisodeFormat format) =>
        (task.Prompt.VirtualTokens > 0 ? $"{{soft:{task.Prompt.VirtualTokens}}}" : "") + Escape(format.Demonstrations(task.TextDemonstrations))
        + $"{{{EpisodeFormat.InputField}}}{Escape(format.Separator)}{{answer}}";

    static string Escape(string text) => text.Replace("{", "{{").Replace("}", "}}");

    /// <summary>
    /// Writes the prompt as an ordinary adapter in PEFT's layout — prompt tuning's tokens (discrete, weighted sum, hidden
    /// state) or a prefix (PREFIX_TUNING without projection) — with the template, the X_L demonstrations and the design
    /// in softprompt.json, so generate, eval, inspect and analyze use it with no PGM present.
    /// </summary>
    public static void SaveAdapter(string directory, TaskPrompt task, ICausalLanguageModel model, EpisodeFormat format, ITextEncoder encoder,
        string? baseModel = null, int? eosId = null)
    {
        var extras = new JsonObject
        {
            ["template"] = Template(task, format),
            ["answer_field"] = EpisodeFormat.OutputField,
            ["task"] = "generation",
            ["metal"] = new JsonObject
            {
                ["design"] = PromptDesigns.Name(task.Prompt.Design),
                ["prompt_demonstrations"] = task.PromptDemonstrations,
                ["passes"] = task.Passes,
                ["text_demonstrations"] = new JsonArray([.. task.TextDemonstrations.Select(e => (JsonNode?)new JsonObject
                    { [EpisodeFormat.InputField] = e.Field(EpisodeFormat.InputField), [EpisodeFormat.OutputField] = e.Field(EpisodeFormat.OutputField) })]),
            },
        };
        if (eosId is int eos) extras["eos_id"] = eos;
        if (task.Prompt.TokenIds is { } ids)
        {
            extras["metal"]!["token_ids"] = new JsonArray([.. ids.Select(i => (JsonNode?)JsonValue.Create(i))]);
            extras["metal"]!["text"] = encoder.Decode(ids);
        }
        AdapterDirectory.Save(directory, task.Prompt.ToMethod(model), model, baseModel, extras);
    }
}
