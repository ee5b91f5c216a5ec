using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// Greedy completion and exact-match accuracy of a Petrov model, with an adapter or without. Prompts start
/// with the model's P pad positions (<see cref="Gpt2Export.PrefixPadding"/>); a method with virtual tokens
/// (the authors' prefix, prompt tuning) fills the last of them with its slots (<see cref="PetrovTuningData.Task"/>);
/// key/value prefixes and weight deltas leave them zero tokens.
/// </summary>
public static class PetrovEvaluation
{
    /// <summary>Exact match (%) of all 10 greedy output tokens over <paramref name="items"/>.</summary>
    public static double Accuracy(ICausalLanguageModel model, TuningMethod? method, IReadOnlyList<PetrovExample> items, int padding)
    {
        var completions = Complete(model, method, items, padding);
        int correct = 0;
        for (int i = 0; i < items.Count; i++) if (completions[i].AsSpan().SequenceEqual(items[i].Output)) correct++;
        return items.Count == 0 ? 0 : 100.0 * correct / items.Count;
    }

    // items: N examples, padding P -> N × 10 greedy output tokens (batches of 64)
    public static int[][] Complete(ICausalLanguageModel model, TuningMethod? method, IReadOnlyList<PetrovExample> items, int padding)
    {
        using var _ = Tensors.Autograd.Tape.NoGrad();
        var output = method?.Compute();
        var task = PetrovTuningData.Task(method?.VirtualTokens ?? 0, padding);
        var result = new List<int[]>(items.Count);
        foreach (var chunk in items.Chunk(64))
        {
            var rendered = chunk.Select(e => PetrovTuningData.Prompt(task, e)).ToArray();
            var prompts = rendered.Select(p => (IReadOnlyList<int>)p.Ids).ToArray();
            PromptPlan? plan = output?.Plan(rendered.Select(p => p.SoftSlots.Select(s => (s.Position, s.VirtualStart, s.Count))));
            result.AddRange(Generator.GenerateBatch(model, prompts, new GenerationOptions(MaxNewTokens: PetrovExample.OutputLength), plan: plan).Select(g => g.ToArray()));
        }
        return [.. result];
    }
}
