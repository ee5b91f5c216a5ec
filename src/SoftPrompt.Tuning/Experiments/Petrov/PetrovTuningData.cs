using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// The synthetic tasks as ordinary tuning data, so every method trains on them through the same Trainer:
/// examples with an "input" and an "answer" field of digit text, and the task that renders them —
/// virtual-token slots (if the method has any), the 10 input digits, the 10 answer digits scored.
/// </summary>
public static class PetrovTuningData
{
    /// <summary><paramref name="count"/> training-split examples of <paramref name="task"/>, the same for a seed.</summary>
    public static Example[] Examples(PetrovTask task, int count, ulong seed = 99)
    {
        var sampler = new PetrovSampler([task], seed);
        return [.. Enumerable.Range(0, count).Select(_ => Fields(sampler.NextExample()))];
    }

    /// <summary>
    /// The sample that picks the best of several initialisations: 320 training-split items of the task, the
    /// same every time (a seed of its own, apart from the training stream's).
    /// </summary>
    public static PetrovExample[] ValidationSample(PetrovTask task)
    {
        var sampler = new PetrovSampler([task], 555);
        return [.. Enumerable.Range(0, 320).Select(_ => sampler.NextExample())];
    }

    public static Example Fields(PetrovExample e) => Example.Of(("input", DigitEncoder.Text(e.Input)), ("answer", DigitEncoder.Text(e.Output)));

    /// <summary>The template {soft:N}{input}{answer} (no slot when N = 0) with the digit tokenizer.</summary>
    public static TuningTask Task(int virtualTokens) =>
        new(Template.Parse(virtualTokens > 0 ? $"{{soft:{virtualTokens}}}{{input}}{{answer}}" : "{input}{answer}"), new DigitEncoder(), new RenderOptions { AnswerPrefix = "" });
}
