using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.MetaL;

/// <summary>
/// MetaL-Prompt's objective for one episode: the PGM makes the prompt from X_P; the frozen target LM runs
/// [prompt ; X_L ; x] for every query and the loss is the mean cross-entropy of the y tokens only. Gradients flow
/// through the target LM into the prompt and on into the PGM's LoRA and padding.
/// </summary>
public static class MetaLoss
{
    // -> [] mean cross-entropy over the queries' answer tokens, with the prompt it used
    public static (Tensor Loss, GeneratedPrompt Prompt) Compute(ICausalLanguageModel model, PromptGenerator pgm, Episode episode, EpisodeFormat format,
        ITextEncoder encoder, int? eosId = null, Tensor? gumbelNoise = null)
    {
        var xp = encoder.Encode(format.Demonstrations(episode.PromptDemonstrations));
        var prompt = pgm.Generate(model, xp, gumbelNoise);
        return (QueryLoss(model, prompt, episode, format, encoder, eosId, training: true), prompt);
    }

    /// <summary>The target LM's loss on the episode's queries after a given prompt.</summary>
    public static Tensor QueryLoss(ICausalLanguageModel model, GeneratedPrompt prompt, Episode episode, EpisodeFormat format, ITextEncoder encoder, int? eosId, bool training)
    {
        var task = format.QueryTask(prompt.VirtualTokens, encoder, eosId);
        string textDemos = format.Demonstrations(episode.TextDemonstrations);
        var encoded = task.Encode([.. episode.Queries.Select(q => EpisodeFormat.Query(q, textDemos))], $"task {episode.Task}");
        var batch = new Collator().Collate(encoded);
        var logits = BatchLoss.AnswerLogits(model, prompt.ToMethodOutput(), batch, training, methodRng: null);
        return F.CrossEntropy(logits, batch.Targets, reuseLogitsForGrad: training);
    }
}
