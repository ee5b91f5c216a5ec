namespace SoftPrompt.Tuning.Training;

/// <summary>Reported after each optimizer update (and with Eval set after an evaluation).</summary>
public sealed record TrainingProgress(long Step, long MaxSteps, double Loss, double LearningRate, double TokensPerSecond, TimeSpan Elapsed, EvalResult? Eval = null);

/// <summary>How a run ended.</summary>
public sealed record TrainingResult(long Steps, IReadOnlyList<double> Losses, EvalResult? FinalEval, EvalResult? BestEval, long BestStep, bool StoppedEarly, int SkippedNonFinite);

/// <summary>Training stopped because the loss or the gradients stayed NaN or infinite.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
