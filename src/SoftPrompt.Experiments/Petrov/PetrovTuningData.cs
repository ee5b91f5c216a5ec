using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Experiments.Petrov;

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

    /// <summary>
    /// Zero pad tokens before a method's N virtual-token slots for a model pretrained with P pad positions: the
    /// slots take the last N of the P positions (the authors' prefix replaces exactly those), so the text stays at P….
    /// </summary>
    public static int LeadingPads(int padding, int virtualTokens) => Math.Max(0, padding - virtualTokens);

    /// <summary>The prompt of one example (pads, slots, the 10 digits; no answer) as <paramref name="task"/> renders it.</summary>
    public static EncodedExample Prompt(TuningTask task, PetrovExample e) => task.Template.RenderPrompt(Fields(e), task.Encoder, task.Options);

    /// <summary>
    /// The template {pads}{soft:N}{input}{answer} with the digit tokenizer: max(0, P − N) literal zeros, the N slots
    /// (none when N = 0), the digits; P is the model's prefix padding (<see cref="Gpt2Export.PrefixPadding"/>).
    /// </summary>
    public static TuningTask Task(int virtualTokens, int padding = 0) =>
        new(Template.Parse(new string('0', LeadingPads(padding, virtualTokens)) + (virtualTokens > 0 ? $"{{soft:{virtualTokens}}}" : "") + "{input}{answer}"),
            new DigitEncoder(), new RenderOptions { AnswerPrefix = "" });
}
