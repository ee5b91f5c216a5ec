namespace SoftPrompt.Tuning.Methods.PromptTuning;

/// <summary>How the virtual tokens start (Lester et al. §3.1; PEFT's prompt_tuning_init).</summary>
public enum PromptTuningInit
{
    /// <summary>Uniform in [−RandomRange, RandomRange] (Lester et al.: 0.5).</summary>
    Random,
    /// <summary>Embeddings of tokens drawn from the first SampleVocabSize ids — BPE and SentencePiece vocabularies are in merge/score order, so these are the frequent tokens.</summary>
    SampleVocab,
    /// <summary>Embeddings of InitText's tokens, repeated or cut to N (PEFT's TEXT).</summary>
    Text,
    /// <summary>Embeddings of the class-label words' tokens, repeated or cut to N.</summary>
    Labels,
}

/// <summary>Prompt tuning: N trainable virtual-token embeddings at the input.</summary>
public sealed record PromptTuningConfig(int NumVirtualTokens = 20, PromptTuningInit Init = PromptTuningInit.Random, string? InitText = null,
    IReadOnlyList<string>? LabelWords = null, float RandomRange = 0.5f, int SampleVocabSize = 5000);
