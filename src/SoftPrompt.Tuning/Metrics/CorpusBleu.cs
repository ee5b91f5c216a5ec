namespace SoftPrompt.Tuning.Metrics;

/// <summary>
/// Corpus BLEU-4 as NLTK's <c>corpus_bleu(references, hypotheses)</c> with default weights (¼ each) and no
/// smoothing, on whitespace tokens (case kept, no further tokenisation). Clipped n-gram counts are summed
/// over the corpus, then BLEU = BP · exp(Σ ¼ log pₙ) with BP = 1 if c &gt; r else exp(1 − r/c), c the
/// hypotheses' total length and r the sum of each hypothesis's closest reference length (ties: the shorter).
/// NLTK's quirk is kept: a hypothesis shorter than n adds 1 to the n-gram denominator (its max(1, ·)).
/// When some order has no match NLTK returns a value below 1e-70 (it replaces log 0 by log of the smallest
/// double); we return exactly 0. Scores are 0..1 (sacrebleu reports ×100 and smooths by default).
/// </summary>
public static class CorpusBleu
{
    public const int MaxOrder = 4;

    public static double Compute(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references)
    {
        MetricChecks.SameLength(references.Count, hypotheses.Count, "CorpusBleu");
        var numerators = new long[MaxOrder + 1];
        var denominators = new long[MaxOrder + 1];
        long hypLength = 0, refLength = 0;
        for (int s = 0; s < hypotheses.Count; s++)
        {
            if (references[s].Count == 0) throw new ArgumentException($"CorpusBleu: hypothesis {s} has no reference.");
            var hyp = Split(hypotheses[s]);
            var refs = references[s].Select(Split).ToArray();
            for (int n = 1; n <= MaxOrder; n++)
            {
                var counts = NGrams(hyp, n);
                var maxRef = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var r in refs)
                    foreach (var (g, c) in NGrams(r, n))
                        if (c > maxRef.GetValueOrDefault(g)) maxRef[g] = c;
                long clipped = 0, total = 0;
                foreach (var (g, c) in counts) { clipped += Math.Min(c, maxRef.GetValueOrDefault(g)); total += c; }
                numerators[n] += clipped;
                denominators[n] += Math.Max(1, total);
            }
            hypLength += hyp.Length;
            refLength += ClosestLength(refs, hyp.Length);
        }
        if (numerators[1] == 0) return 0;
        double logSum = 0;
        for (int n = 1; n <= MaxOrder; n++)
        {
            if (numerators[n] == 0) return 0;
            logSum += 0.25 * Math.Log((double)numerators[n] / denominators[n]);
        }
        return BrevityPenalty(refLength, hypLength) * Math.Exp(logSum);
    }

    static double BrevityPenalty(long r, long c) => c > r ? 1 : c == 0 ? 0 : Math.Exp(1 - (double)r / c);

    static int ClosestLength(string[][] refs, int hyp) =>
        refs.Select(r => r.Length).OrderBy(l => Math.Abs(l - hyp)).ThenBy(l => l).First();

    static string[] Split(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    static Dictionary<string, int> NGrams(string[] tokens, int n)
    {
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        // Tokens never contain whitespace, so joining with a space is an exact key.
        for (int i = 0; i + n <= tokens.Length; i++)
        {
            string key = string.Join(' ', tokens, i, n);
            d[key] = d.GetValueOrDefault(key) + 1;
        }
        return d;
    }
}
