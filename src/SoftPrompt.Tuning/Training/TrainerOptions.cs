namespace SoftPrompt.Tuning.Training;

public enum OptimizerKind { AdamW, Adafactor }

public enum ScheduleKind { Constant, Linear, Cosine }

/// <summary>
/// Training settings, with Hugging Face Trainer's names where it has them. MaxSteps counts optimizer
/// updates (each GradientAccumulation batches). EvalEvery 0 evaluates only at the end;
/// EarlyStoppingPatience 0 never stops early. CheckpointEvery 0 checkpoints at evaluations and at the end.
/// </summary>
public sealed record TrainerOptions
{
    public int MaxSteps { get; init; } = 100;
    public int BatchSize { get; init; } = 8;
    public int GradientAccumulation { get; init; } = 1;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;
    public double LearningRate { get; init; } = 3e-2;
    public double WeightDecay { get; init; } = 0.0;
    public double AdamBeta1 { get; init; } = 0.9;
    public double AdamBeta2 { get; init; } = 0.999;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Linear;
    public int WarmupSteps { get; init; } = 0;
    public float MaxGradNorm { get; init; } = 1.0f;
    public int EvalEvery { get; init; } = 0;
    public int EarlyStoppingPatience { get; init; } = 0;
    public int CheckpointEvery { get; init; } = 0;
    public int LogEvery { get; init; } = 1;
    public ulong Seed { get; init; } = 42;

    /// <summary>
    /// Train the model in training mode: its config's dropouts (GPT-2's embd/attn/resid_pdrop) act on every
    /// training step, as under Hugging Face's Trainer (model.train()); evaluation is always without. Off by
    /// default: a prompt method then learns against the model's deterministic outputs (Petrov et al.'s
    /// prefix trainer runs the model in eval mode too). Their full fine-tuning runs with it on.
    /// </summary>
    public bool ModelDropout { get; init; }

    /// <summary>
    /// End this run at this step, checkpointed, as a run interrupted there (null: run to MaxSteps). The learning-rate
    /// schedule still spans MaxSteps, so a rerun with a later stop (or none) continues the same run: a long training
    /// done a session at a time, its adapter and curve so far available after each.
    /// </summary>
    public int? StopAtStep { get; init; }

    /// <summary>Consecutive non-finite losses or gradients tolerated (each update is skipped) before training stops with an error.</summary>
    public int MaxNonFiniteSteps { get; init; } = 5;

    internal void Validate()
    {
        void Positive(string name, double v) { if (!(v > 0)) throw new ArgumentOutOfRangeException(name, $"{name} must be positive, got {v}."); }
        void NonNegative(string name, double v) { if (!(v >= 0)) throw new ArgumentOutOfRangeException(name, $"{name} must be ≥ 0, got {v}."); }
        Positive(nameof(MaxSteps), MaxSteps); Positive(nameof(BatchSize), BatchSize); Positive(nameof(GradientAccumulation), GradientAccumulation);
        Positive(nameof(LearningRate), LearningRate); NonNegative(nameof(WeightDecay), WeightDecay); NonNegative(nameof(WarmupSteps), WarmupSteps);
        NonNegative(nameof(EvalEvery), EvalEvery); NonNegative(nameof(EarlyStoppingPatience), EarlyStoppingPatience);
        NonNegative(nameof(CheckpointEvery), CheckpointEvery); Positive(nameof(LogEvery), LogEvery); Positive(nameof(MaxNonFiniteSteps), MaxNonFiniteSteps);
        if (StopAtStep is int stop) Positive(nameof(StopAtStep), stop);
    }
}
