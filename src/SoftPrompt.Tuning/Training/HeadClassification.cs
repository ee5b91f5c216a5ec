using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Training;

/// <summary>
/// Classification through a head instead of verbalizer words (P-tuning v2's deep prompts with a
/// classifier): the last prompt position's final hidden state → Linear(D, labels), trained with
/// cross-entropy on the label index (the verbalizer's label order).
/// </summary>
public static class HeadClassification
{
    /// <summary>True when the method carries a classification head (<see cref="IClassificationHead"/>) and the task is classification.</summary>
    public static bool Applies(TuningMethod method, TuningTask task) =>
        method is IClassificationHead { Classifier: not null } && task.Kind == TaskKind.Classification;

    static Tensors.NN.Linear Head(TuningMethod method) => (method as IClassificationHead)?.Classifier
        ?? throw new ArgumentException($"{method.Name}: this method has no classification head.");

    /// <summary>Each example's prompt (no answer) and gold label index.</summary>
    public static (EncodedExample Prompt, int Label)[] Encode(TuningTask task, IReadOnlyList<Example> examples, string what)
    {
        if (examples.Count == 0) throw new DataFormatException($"{what}: no examples.");
        var labels = task.Scorer!.Labels;
        return [.. examples.Select(e => (task.Template.RenderPrompt(e, task.Encoder, task.Options), IndexOf(labels, task.Gold(e))))];
    }

    static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (int i = 0; i < labels.Count; i++) if (labels[i] == label) return i;
        throw new DataFormatException($"label '{label}' is not in the verbalizer ({string.Join(", ", labels)}).");
    }

    // prompts -> class logits [B, labels]
    public static Tensor Logits(ICausalLanguageModel model, TuningMethod method, IReadOnlyList<EncodedExample> prompts, bool training = false, Rng? modelDropout = null)
    {
        var batch = new Collator().Collate(prompts);
        var last = prompts.Select((p, b) => b * batch.Seq + p.Ids.Length - 1).ToArray();
        var plan = BatchLoss.Plan(method.Compute(), batch, training, method.StochasticRng);
        var hidden = SharedLeadingTokens.ForwardHidden(model, batch.Ids, batch.Batch, batch.Seq, new ForwardOptions { Plan = plan, OutputPositions = last, DropoutRng = modelDropout });   // [B, D]
        return Head(method).Forward(hidden);
    }

    // -> [] mean cross-entropy of the labels
    public static Tensor Loss(ICausalLanguageModel model, TuningMethod method, IReadOnlyList<(EncodedExample Prompt, int Label)> rows, bool training = false, Rng? modelDropout = null) =>
        F.CrossEntropy(Logits(model, method, [.. rows.Select(r => r.Prompt)], training, modelDropout), [.. rows.Select(r => r.Label)]);
}
