using SoftPrompt.Tuning.Data;

namespace SoftPrompt.MetaL;

/// <summary>
/// One meta-training step's draw from one task: k_P demonstrations the PGM reads (X_P), k_L kept as text after the
/// prompt (X_L, possibly none), and a batch of queries of the same task the target LM answers.
/// </summary>
public sealed record Episode(string Task, IReadOnlyList<Example> PromptDemonstrations, IReadOnlyList<Example> TextDemonstrations, IReadOnlyList<Example> Queries);
