namespace SoftPrompt.Tuning.Data;

/// <summary>How <see cref="Template.Render"/> turns an example into ids.</summary>
public sealed record RenderOptions
{
    /// <summary>The example's field that holds the answer: the target text, or with a Verbalizer the label.</summary>
    public string AnswerField { get; init; } = "answer";

    /// <summary>When set, the answer field holds a label and the answer is the label's first verbalizer word.</summary>
    public Verbalizer? Verbalizer { get; init; }

    /// <summary>
    /// Text put before the answer (or each verbalizer word) when it is encoded on its own. Null: the
    /// template's <see cref="Template.ImpliedAnswerPrefix"/> (" " after text that does not end in a space).
    /// </summary>
    public string? AnswerPrefix { get; init; }

    /// <summary>An id put at position 0 (before any soft token), or none.</summary>
    public int? BosId { get; init; }

    /// <summary>An id put after the answer, inside AnswerIds so the loss teaches the model to stop (generation tasks).</summary>
    public int? EosId { get; init; }

    /// <summary>
    /// Longest Ids allowed (prompt + answer, BOS/EOS included). Longer examples lose tokens of their
    /// longest text field (longest first, like HF's "longest_first"), never soft tokens, literal template
    /// text or the answer; when that is not enough the example is an error naming file:line.
    /// </summary>
    public int? MaxLength { get; init; }

    public TruncationSide Truncation { get; init; } = TruncationSide.Right;
}
