using System.Text;

namespace SoftPrompt.Tuning.Metrics;

/// <summary>Precision, recall and F-measure of one comparison.</summary>
public readonly record struct Prf(double Precision, double Recall, double F);

/// <summary>
/// ROUGE-L (sentence level) as Google's <c>rouge_score</c> with <c>use_stemmer=False</c>: LCS of the token
/// sequences, P = LCS/|prediction|, R = LCS/|reference|, F = 2PR/(P+R) (0 when either is empty).
/// Tokens are rouge_score's default: lowercase, every run of characters other than a–z and 0–9 becomes a
/// space, split on whitespace — so punctuation is dropped and non-ASCII letters (accents, CJK) are dropped too,
/// as there. <see cref="RougeTokenization.Whitespace"/> instead splits the text as it is on whitespace.
/// The corpus score is the mean F over pairs; with several references the best F counts (score_multi).
/// </summary>
public static class RougeL
{
    public static Prf Score(string prediction, string reference, RougeTokenization tokenization = RougeTokenization.RougeScore)
    {
        var p = Tokenize(prediction, tokenization);
        var r = Tokenize(reference, tokenization);
        if (p.Length == 0 || r.Length == 0) return new Prf(0, 0, 0);
        int lcs = Lcs(p, r);
        double precision = (double)lcs / p.Length, recall = (double)lcs / r.Length;
        double f = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        return new Prf(precision, recall, f);
    }

    public static double Corpus(IReadOnlyList<string> predictions, IReadOnlyList<IReadOnlyList<string>> references, RougeTokenization tokenization = RougeTokenization.RougeScore)
    {
        MetricChecks.SameLength(references.Count, predictions.Count, "RougeL");
        return Enumerable.Range(0, predictions.Count).Average(i => references[i].Max(r => Score(predictions[i], r, tokenization).F));
    }

    public static string[] Tokenize(string text, RougeTokenization tokenization)
    {
        if (tokenization == RougeTokenization.Whitespace) return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var sb = new StringBuilder(text.Length);
        foreach (char c in text.ToLowerInvariant()) sb.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : ' ');
        return sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Length of the longest common subsequence (two rolling rows of the DP table).</summary>
    static int Lcs(string[] a, string[] b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
                cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : Math.Max(prev[j], cur[j - 1]);
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}

public enum RougeTokenization
{
    /// <summary>rouge_score's tokenizer: lowercase, non-[a-z0-9] → space.</summary>
    RougeScore,
    /// <summary>The text as it is, split on whitespace.</summary>
    Whitespace,
}
