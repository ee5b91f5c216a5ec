namespace SoftPrompt.Tuning.Reporting;

/// <summary>
/// One line of the training log. Metrics holds any further named values ("eval_loss", "eval_accuracy",
/// "grad_norm", …); they are written as top-level fields next to the fixed ones, which they may not shadow.
/// </summary>
public sealed record TrainingRecord
{
    public long Step { get; init; }
    public double? Epoch { get; init; }
    public double? Loss { get; init; }
    public double? LearningRate { get; init; }
    public double? TokensPerSecond { get; init; }
    public double? ElapsedSeconds { get; init; }
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The JSON names of the fixed fields.</summary>
    public static readonly IReadOnlyList<string> FixedNames = ["step", "epoch", "loss", "lr", "tokens_per_s", "elapsed_s"];

    /// <summary>A value by its JSON name (fixed or metric), or null.</summary>
    public double? Get(string name) => name switch
    {
        "step" => Step,
        "epoch" => Epoch,
        "loss" => Loss,
        "lr" => LearningRate,
        "tokens_per_s" => TokensPerSecond,
        "elapsed_s" => ElapsedSeconds,
        _ => Metrics.TryGetValue(name, out var v) ? v : null,
    };
}
