namespace SoftPrompt.Tuning.Metrics;

static class MetricChecks
{
    public static void SameLength(int gold, int predicted, string metric)
    {
        if (gold != predicted) throw new ArgumentException($"{metric}: {gold} gold values but {predicted} predictions.");
        if (gold == 0) throw new ArgumentException($"{metric}: no examples; the metric is undefined.");
    }
}
