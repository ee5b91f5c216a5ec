namespace SoftPrompt.Tuning.Metrics;

/// <summary>Fraction of predictions equal to the gold label (0..1).</summary>
public static class Accuracy
{
    public static double Compute<T>(IReadOnlyList<T> gold, IReadOnlyList<T> predicted)
    {
        MetricChecks.SameLength(gold.Count, predicted.Count, "Accuracy");
        var eq = EqualityComparer<T>.Default;
        int right = 0;
        for (int i = 0; i < gold.Count; i++) if (eq.Equals(gold[i], predicted[i])) right++;
        return (double)right / gold.Count;
    }
}
