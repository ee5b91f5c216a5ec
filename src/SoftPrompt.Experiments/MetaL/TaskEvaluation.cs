using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// Exact match of a task's queries under some prompt: [prompt ; X_L text ; "x> "] → 10 greedy tokens, against the rule's
/// output. The prompt is M soft tokens, a prefix, or nothing (zero-shot and in-context learning put everything in the text).
/// Also counts the tokens the LM reads per request — the prompt's positions, the demonstrations' text and the query.
/// </summary>
public static class TaskEvaluation
{
    public sealed record Score(double ExactMatch, double TokensPerRequest);

    public static Score Evaluate(ICausalLanguageModel model, ITextEncoder encoder, EpisodeFormat format, MethodOutput? prompt, int promptLength, bool promptIsPrefix,
        IReadOnlyList<Example> textDemonstrations, IReadOnlyList<Example> queries)
    {
        var outputs = Complete(model, encoder, format, prompt, promptLength, promptIsPrefix, textDemonstrations, queries, out double tokens);
        int correct = queries.Select((q, i) => outputs[i] == q.Field(EpisodeFormat.OutputField) ? 1 : 0).Sum();
        return new Score(100.0 * correct / queries.Count, tokens);
    }

    /// <summary>
    /// The target's greedy answers to queries read as [prompt ; X_L ; input + separator] (a prefix takes no positions of
    /// the row); tokensPerRequest counts what the LM reads for one, a prefix's positions included.
    /// </summary>
    public static string[] Complete(ICausalLanguageModel model, ITextEncoder encoder, EpisodeFormat format, MethodOutput? prompt, int promptLength, bool promptIsPrefix,
        IReadOnlyList<Example> textDemonstrations, IReadOnlyList<Example> queries, out double tokensPerRequest)
    {
        int lead = promptIsPrefix ? 0 : promptLength;
        string context = format.Demonstrations(textDemonstrations);
        var rows = queries.Select(q => (IReadOnlyList<int>)[.. new int[lead], .. encoder.Encode(context + q.Field(EpisodeFormat.InputField) + format.Separator + " ")]).ToArray();
        var plan = prompt?.Plan(Enumerable.Repeat<IEnumerable<(int, int, int)>>(lead > 0 ? [(0, 0, lead)] : [], rows.Length));
        var outputs = Generator.GenerateBatch(model, rows, new GenerationOptions(MaxNewTokens: SymbolWorld.OutputLength), plan: plan);
        tokensPerRequest = rows.Average(r => r.Count) + (promptIsPrefix ? promptLength : 0);
        return [.. outputs.Select(o => encoder.Decode([.. o]))];
    }
}
