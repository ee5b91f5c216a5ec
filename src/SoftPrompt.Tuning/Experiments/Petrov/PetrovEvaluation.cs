using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// Greedy completion and exact-match accuracy of a Petrov model, with an adapter or without. A method with
/// virtual tokens (the authors' prefix, prompt tuning) gets that many placeholder positions before the
/// 10 input digits, which its plan fills; key/value prefixes and weight deltas need none.
/// </summary>
public static class PetrovEvaluation
{
    /// <summary>Exact match (%) of all 10 greedy output tokens over <paramref name="items"/>.</summary>
    public static double Accuracy(ICausalLanguageModel model, TuningMethod? method, IReadOnlyList<PetrovExample> items)
    {
        var completions = Complete(model, method, items);
        int correct = 0;
        for (int i = 0; i < items.Count; i++) if (completions[i].AsSpan().SequenceEqual(items[i].Output)) correct++;
        return items.Count == 0 ? 0 : 100.0 * correct / items.Count;
    }

    // items: N examples -> N × 10 greedy output tokens (batches of 64)
    public static int[][] Complete(ICausalLanguageModel model, TuningMethod? method, IReadOnlyList<PetrovExample> items)
    {
        using var _ = Tensors.Autograd.Tape.NoGrad();
        var output = method?.Compute();
        int slots = method?.VirtualTokens ?? 0;
        var result = new List<int[]>(items.Count);
        foreach (var chunk in items.Chunk(64))
        {
            var prompts = chunk.Select(e => (IReadOnlyList<int>)[.. new int[slots], .. e.Input.ToArray()]).ToArray();
            PromptPlan? plan = output is null ? null : new PromptPlan([.. chunk.Select(_ => (RowPlan?)output.Row(slots > 0 ? [(0, 0, slots)] : []))]);
            result.AddRange(Generator.GenerateBatch(model, prompts, new GenerationOptions(MaxNewTokens: PetrovExample.OutputLength), plan: plan).Select(g => g.ToArray()));
        }
        return [.. result];
    }
}
