using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Training;

/// <summary>Generation: the loss is on the answer text. Classification: the answer is a label, scored through the verbalizer.</summary>
public enum TaskKind { Generation, Classification }

/// <summary>
/// What is being learned: the template, how examples become ids (answer field, BOS/EOS, truncation),
/// the tokenizer, and for classification the verbalizer. Shared by training, evaluation and serving.
/// </summary>
public sealed class TuningTask
{
    public Template Template { get; }
    public RenderOptions Options { get; }
    public ITextEncoder Encoder { get; }
    public TaskKind Kind { get; }
    public Verbalizer? Verbalizer => Options.Verbalizer;
    public LabelScorer? Scorer { get; }

    public TuningTask(Template template, ITextEncoder encoder, RenderOptions options)
    {
        Template = template; Encoder = encoder; Options = options;
        Kind = options.Verbalizer is null ? TaskKind.Generation : TaskKind.Classification;
        if (options.Verbalizer is { } v) Scorer = new LabelScorer(template, v, encoder, options);
    }

    /// <summary>Examples rendered with their answers, for the loss. An empty set is an error naming where it came from.</summary>
    public IReadOnlyList<EncodedExample> Encode(IReadOnlyList<Example> examples, string what)
    {
        if (examples.Count == 0) throw new DataFormatException($"{what}: no examples.");
        return [.. examples.Select(e => Template.Render(e, Encoder, Options))];
    }

    /// <summary>The gold answer text of an example (generation) or its label (classification).</summary>
    public string Gold(Example example) => Scorer?.Gold(example) ?? example.Field(Options.AnswerField);

    /// <summary>The metric that picks the best checkpoint and drives early stopping, and whether higher is better.</summary>
    public (string Name, bool HigherIsBetter) SelectionMetric => Kind == TaskKind.Classification ? ("accuracy", true) : ("loss", false);
}
