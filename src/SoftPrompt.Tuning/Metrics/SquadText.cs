using System.Text;
using System.Text.RegularExpressions;

namespace SoftPrompt.Tuning.Metrics;

/// <summary>
/// Exact match and token F1 of the SQuAD evaluation script. Normalisation: lowercase, remove ASCII
/// punctuation (Python's string.punctuation), remove the articles a/an/the as whole words, collapse
/// whitespace. Token F1 is over bags of normalised whitespace tokens. With several gold answers the best
/// one counts. When the prediction or the gold normalises to no tokens, F1 is 1 if both do and 0 otherwise
/// (SQuAD v2's rule; v1.1's script gave 0 for both empty).
/// </summary>
public static partial class SquadText
{
    const string Punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

    [GeneratedRegex(@"\b(a|an|the)\b")]
    private static partial Regex Articles();

    public static string Normalize(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s.ToLowerInvariant()) if (!Punctuation.Contains(c)) sb.Append(c);
        string noArticles = Articles().Replace(sb.ToString(), " ");
        return string.Join(' ', Tokens(noArticles));
    }

    static string[] Tokens(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    public static bool ExactMatch(string predicted, string gold) => Normalize(predicted) == Normalize(gold);

    public static double ExactMatch(string predicted, IEnumerable<string> golds) => golds.Any(g => ExactMatch(predicted, g)) ? 1 : 0;

    public static double TokenF1(string predicted, string gold)
    {
        var p = Tokens(Normalize(predicted));
        var g = Tokens(Normalize(gold));
        if (p.Length == 0 || g.Length == 0) return p.Length == g.Length ? 1 : 0;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in g) counts[t] = counts.GetValueOrDefault(t) + 1;
        int same = 0;
        foreach (var t in p)
            if (counts.GetValueOrDefault(t) > 0) { same++; counts[t]--; }
        if (same == 0) return 0;
        double precision = (double)same / p.Length, recall = (double)same / g.Length;
        return 2 * precision * recall / (precision + recall);
    }

    public static double TokenF1(string predicted, IEnumerable<string> golds) => golds.Max(g => TokenF1(predicted, g));

    /// <summary>Mean exact match over a corpus (0..1), each prediction against its gold answers.</summary>
    public static double MeanExactMatch(IReadOnlyList<string> predicted, IReadOnlyList<IReadOnlyList<string>> golds)
    {
        MetricChecks.SameLength(golds.Count, predicted.Count, "ExactMatch");
        return Enumerable.Range(0, predicted.Count).Average(i => ExactMatch(predicted[i], golds[i]));
    }

    /// <summary>Mean token F1 over a corpus (0..1).</summary>
    public static double MeanTokenF1(IReadOnlyList<string> predicted, IReadOnlyList<IReadOnlyList<string>> golds)
    {
        MetricChecks.SameLength(golds.Count, predicted.Count, "TokenF1");
        return Enumerable.Range(0, predicted.Count).Average(i => TokenF1(predicted[i], golds[i]));
    }
}
