namespace SoftPrompt.Tuning.Training;

/// <summary>An evaluation: mean answer-token loss, the task's metrics, and each example's prediction.</summary>
public sealed record EvalResult(double Loss, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<string> Predictions, IReadOnlyList<string> Gold)
{
    /// <summary>The named metric ("loss" included).</summary>
    public double Get(string name) => name == "loss" ? Loss : Metrics.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"no metric '{name}' (have: loss, {string.Join(", ", Metrics.Keys)}).");
}
