namespace SoftPrompt.MetaL;

/// <summary>
/// Meta-training: MaxSteps updates of EpisodesPerStep episodes each (k_P = PromptDemonstrations for X_P, k_L =
/// TextDemonstrations for X_L, Queries per episode), AdamW at LearningRate with linear decay after WarmupSteps,
/// clipping at MaxGradNorm. Every EvalEvery updates (0: at the end) the mean loss on EvalEpisodes fixed episodes
/// of the validation tasks; a checkpoint every CheckpointEvery updates and at each evaluation and the end.
/// </summary>
public sealed record MetaTrainerOptions
{
    public int MaxSteps { get; init; } = 1_000;
    public int EpisodesPerStep { get; init; } = 4;
    public int PromptDemonstrations { get; init; } = 8;
    public int TextDemonstrations { get; init; } = 0;
    public int Queries { get; init; } = 8;
    public double LearningRate { get; init; } = 1e-3;
    public int WarmupSteps { get; init; } = 0;
    public float MaxGradNorm { get; init; } = 1f;
    public int EvalEvery { get; init; } = 0;
    public int EvalEpisodes { get; init; } = 32;
    public int CheckpointEvery { get; init; } = 100;
    public int LogEvery { get; init; } = 1;
    public int MaxNonFiniteSteps { get; init; } = 5;
    public ulong Seed { get; init; } = 42;
    /// <summary>Stop (checkpointed) at this step though the schedule spans MaxSteps: a run split over sessions.</summary>
    public int? StopAtStep { get; init; }

    public void Check()
    {
        void Positive(string name, long v) { if (v <= 0) throw new ArgumentException($"meta-training: {name} must be positive, got {v}."); }
        Positive(nameof(MaxSteps), MaxSteps); Positive(nameof(EpisodesPerStep), EpisodesPerStep); Positive(nameof(PromptDemonstrations), PromptDemonstrations);
        Positive(nameof(Queries), Queries); Positive(nameof(EvalEpisodes), EvalEpisodes); Positive(nameof(LogEvery), LogEvery); Positive(nameof(MaxNonFiniteSteps), MaxNonFiniteSteps);
        if (TextDemonstrations < 0) throw new ArgumentException($"meta-training: TextDemonstrations must be ≥ 0, got {TextDemonstrations}.");
        if (!(LearningRate > 0)) throw new ArgumentException($"meta-training: LearningRate must be positive, got {LearningRate}.");
    }
}
