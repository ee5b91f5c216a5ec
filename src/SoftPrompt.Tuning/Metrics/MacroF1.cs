namespace SoftPrompt.Tuning.Metrics;

/// <summary>
/// Macro-averaged F1 as scikit-learn's <c>f1_score(gold, predicted, average="macro", labels=L)</c>:
/// per label, F1 = 2·TP / (2·TP + FP + FN), 0 when the label has no gold and no predicted instance
/// (zero_division=0); the plain mean over L. L is the gold label set by default, so a gold label that is
/// never predicted counts with F1 = 0; a prediction outside L is a miss for its gold label but no
/// label of its own. (sklearn without labels= averages over gold ∪ predicted: pass that set to match it.)
/// </summary>
public static class MacroF1
{
    public static double Compute<T>(IReadOnlyList<T> gold, IReadOnlyList<T> predicted, IEnumerable<T>? labels = null) where T : notnull
    {
        MetricChecks.SameLength(gold.Count, predicted.Count, "MacroF1");
        var set = (labels ?? gold).Distinct().ToArray();
        if (set.Length == 0) throw new ArgumentException("MacroF1: the label set is empty.");
        var eq = EqualityComparer<T>.Default;
        double sum = 0;
        foreach (var label in set)
        {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < gold.Count; i++)
            {
                bool g = eq.Equals(gold[i], label), p = eq.Equals(predicted[i], label);
                if (g && p) tp++;
                else if (p) fp++;
                else if (g) fn++;
            }
            int denom = 2 * tp + fp + fn;
            sum += denom == 0 ? 0 : 2.0 * tp / denom;
        }
        return sum / set.Length;
    }
}
