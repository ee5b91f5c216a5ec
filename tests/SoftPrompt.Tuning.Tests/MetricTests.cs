using System.Text.Json;
using SoftPrompt.Tuning.Metrics;

namespace SoftPrompt.Tuning.Tests;

/// <summary>Against tests/fixtures/tuning/metrics.json (tools/make_metric_fixtures.py: sklearn, NLTK, the SQuAD v2 script) and hand-computed cases.</summary>
public class MetricTests
{
    static JsonElement Cases(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixture.Path("metrics.json")));
        return doc.RootElement.GetProperty(name).Clone();
    }

    static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();

    [Fact]
    public void Accuracy_counts_equal_pairs()
    {
        Assert.Equal(0.75, Accuracy.Compute(["a", "b", "a", "c"], ["a", "b", "b", "c"]));
        Assert.Throws<ArgumentException>(() => Accuracy.Compute(["a"], ["a", "b"]));
        Assert.Throws<ArgumentException>(() => Accuracy.Compute(Array.Empty<string>(), Array.Empty<string>()));
    }

    [Fact]
    public void Macro_f1_matches_sklearn()
    {
        int n = 0;
        foreach (var c in Cases("macro_f1").EnumerateArray())
        {
            var gold = Strings(c.GetProperty("gold"));
            var pred = Strings(c.GetProperty("predicted"));
            Assert.Equal(c.GetProperty("macro_f1_gold_labels").GetDouble(), MacroF1.Compute(gold, pred), 12);
            Assert.Equal(c.GetProperty("macro_f1_sklearn_default").GetDouble(), MacroF1.Compute(gold, pred, Strings(c.GetProperty("union_labels"))), 12);
            n++;
        }
        Assert.True(n >= 10);
    }

    [Fact]
    public void Macro_f1_by_hand_with_a_never_predicted_label()
    {
        // a: TP 2, FP 1 (the c→a), FN 0 → 4/5; b: TP 1, FN 0, FP 0 → 1; c: never predicted → 0. Mean 0.6.
        Assert.Equal(0.6, MacroF1.Compute(["a", "a", "b", "c"], ["a", "a", "b", "a"]), 12);
    }

    [Fact]
    public void Squad_exact_match_and_f1_match_the_official_script()
    {
        foreach (var c in Cases("squad").EnumerateArray())
        {
            string p = c.GetProperty("predicted").GetString()!, g = c.GetProperty("gold").GetString()!;
            Assert.True(c.GetProperty("exact").GetInt32() == (SquadText.ExactMatch(p, g) ? 1 : 0), $"EM of '{p}' vs '{g}'");
            Assert.Equal(c.GetProperty("f1").GetDouble(), SquadText.TokenF1(p, g), 12);
        }
    }

    [Fact]
    public void Squad_normalisation_and_multiple_golds()
    {
        Assert.Equal("eiffel tower", SquadText.Normalize("The  Eiffel Tower!"));
        Assert.Equal("eiffeltower", SquadText.Normalize("Eiffel-Tower"));   // punctuation is removed, not spaced
        Assert.Equal("cat on mat", SquadText.Normalize("A cat, on THE mat."));
        Assert.Equal("theory", SquadText.Normalize("theory"));      // an article only as a whole word
        Assert.Equal(1.0, SquadText.ExactMatch("Broncos", ["Denver Broncos", "the broncos"]));
        Assert.Equal(2.0 / 3, SquadText.TokenF1("Broncos", ["Denver Broncos", "Carolina Panthers"]), 12);
        Assert.Equal(0.5, SquadText.MeanExactMatch(["a b", "c"], [["a b"], ["d"]]));
    }

    [Fact]
    public void Rouge_l_by_hand()
    {
        // rouge_score's own README example: LCS("the quick brown fox jumps over the lazy dog", "the quick brown dog jumps on the log") = 5
        // ("the quick brown … jumps … the"): P = 5/8, R = 5/9.
        var s = RougeL.Score("the quick brown dog jumps on the log.", "The quick brown fox jumps over the lazy dog");
        Assert.Equal(5.0 / 8, s.Precision, 12);
        Assert.Equal(5.0 / 9, s.Recall, 12);
        Assert.Equal(2 * (5.0 / 8) * (5.0 / 9) / (5.0 / 8 + 5.0 / 9), s.F, 12);
        // LCS is order-aware: the reversed sentence shares only one token in order.
        Assert.Equal(1.0 / 3, RougeL.Score("c b a", "a b c").F, 12);
        Assert.Equal(0, RougeL.Score("", "a b").F);
        Assert.Equal(0, RougeL.Score("!!!", "a b").F);   // punctuation tokenises to nothing
    }

    [Fact]
    public void Rouge_l_tokenisation_modes()
    {
        Assert.Equal(["hello", "world", "2024"], RougeL.Tokenize("Hello, WORLD—2024!", RougeTokenization.RougeScore));
        Assert.Equal(["café"], RougeL.Tokenize("café", RougeTokenization.Whitespace));
        Assert.Equal(["caf"], RougeL.Tokenize("café", RougeTokenization.RougeScore));   // as rouge_score: non-ASCII letters are dropped
        Assert.Equal(1.0, RougeL.Score("Hello, world", "hello world").F, 12);
        Assert.Equal(0.5, RougeL.Score("Hello, world", "hello world", RougeTokenization.Whitespace).F, 12);
        // Corpus: mean of the best reference per prediction.
        Assert.Equal((1.0 + 0.5) / 2, RougeL.Corpus(["a b", "x y"], [["z", "a b"], ["x q"]]), 12);
    }

    [Fact]
    public void Corpus_bleu_matches_nltk()
    {
        int n = 0;
        foreach (var c in Cases("bleu").EnumerateArray())
        {
            var hyps = Strings(c.GetProperty("hypotheses"));
            var refs = c.GetProperty("references").EnumerateArray().Select(r => (IReadOnlyList<string>)Strings(r)).ToArray();
            double expected = c.GetProperty("bleu").GetDouble();
            double got = CorpusBleu.Compute(hyps, refs);
            if (expected < 1e-60) Assert.Equal(0, got);   // NLTK's "zero": exp of log(2.2e-308)/4
            else Assert.Equal(expected, got, 12);
            n++;
        }
        Assert.True(n >= 10);
    }

    [Fact]
    public void Corpus_bleu_by_hand()
    {
        Assert.Equal(1.0, CorpusBleu.Compute(["a b c d e"], [["a b c d e"]]), 12);
        // Hypothesis half the reference length, all n-grams matching: BP = exp(1 - 8/4).
        Assert.Equal(Math.Exp(-1), CorpusBleu.Compute(["a b c d"], [["a b c d e f g h"]]), 12);
        // The closest reference length counts (4, not 8): no penalty.
        Assert.Equal(1.0, CorpusBleu.Compute(["a b c d"], [["a b c d e f g h", "a b c d"]]), 12);
        Assert.Equal(0, CorpusBleu.Compute(["x y z w"], [["a b c d"]]));
    }
}
