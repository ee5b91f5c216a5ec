namespace SoftPrompt.Tuning.Training;

/// <summary>
/// Reported after each optimizer update (and with Eval set after an evaluation). Elapsed counts the time before a resumed run's checkpoint;
/// StepSeconds is this update's own time — batch, forward, backward, clipping and optimizer, not logging, evaluation or checkpoints.
/// </summary>
public sealed record TrainingProgress(long Step, long MaxSteps, double Loss, double LearningRate, double TokensPerSecond, TimeSpan Elapsed, EvalResult? Eval = null,
    double StepSeconds = 0);

/// <summary>How a run ended. Seconds: the training time over every session of the run (a resumed run counts the time before its checkpoint).</summary>
public sealed record TrainingResult(long Steps, IReadOnlyList<double> Losses, EvalResult? FinalEval, EvalResult? BestEval, long BestStep, bool StoppedEarly, int SkippedNonFinite,
    double Seconds = 0);

/// <summary>Progress reported inline on the reporting thread (<see cref="Progress{T}"/> would post it to the thread pool, out of order).</summary>
public sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>Training stopped because the loss or the gradients stayed NaN or infinite.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
