using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.MetaL;

/// <summary>
/// How a task's examples ({"input", "output"}) become text: a demonstration is input + Separator + " " + output +
/// Delimiter (X_P, which the PGM reads, and X_L, kept as text after the prompt), and a query is [prompt ; X_L ; input
/// + Separator] with the output as the answer the loss scores (the template's answer gets the leading space).
/// </summary>
public sealed record EpisodeFormat(string Separator = " =>", string Delimiter = "\n")
{
    public const string InputField = "input", OutputField = "output", DemosField = "demos";

    public string Demonstration(Example e) => $"{e.Field(InputField)}{Separator} {e.Field(OutputField)}{Delimiter}";

    public string Demonstrations(IEnumerable<Example> examples) => string.Concat(examples.Select(Demonstration));

    /// <summary>The target LM's task for queries after a prompt of virtualTokens soft tokens (0: a prefix, or none) and the X_L text.</summary>
    public TuningTask QueryTask(int virtualTokens, ITextEncoder encoder, int? eosId = null) =>
        new(Template.Parse((virtualTokens > 0 ? $"{{soft:{virtualTokens}}}" : "") + $"{{{DemosField}}}{{{InputField}}}{Separator}{{answer}}"), encoder,
            new RenderOptions { AnswerField = OutputField, EosId = eosId });

    /// <summary>A query as the query task's example: its input and output with the X_L text.</summary>
    public static Example Query(Example query, string textDemonstrations) =>
        Example.Of((DemosField, textDemonstrations), (InputField, query.Field(InputField)), (OutputField, query.Field(OutputField)));
}
