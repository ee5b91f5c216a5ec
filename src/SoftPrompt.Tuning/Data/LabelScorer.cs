namespace SoftPrompt.Tuning.Data;

/// <summary>One candidate continuation: the prompt followed by one verbalizer word of one label.</summary>
public sealed record LabelCandidate(string Label, string Word, EncodedExample Sequence);

/// <summary>The candidates of one example, label by label, word by word (verbalizer order).</summary>
public sealed record ScoringCandidates(Example Example, EncodedExample Prompt, IReadOnlyList<LabelCandidate> Candidates);

/// <summary>Each label's score (verbalizer order) and the argmax.</summary>
public sealed record LabelScores(IReadOnlyList<string> Labels, double[] Scores, int PredictedIndex)
{
    public string Predicted => Labels[PredictedIndex];
}

/// <summary>
/// Classification with a verbalizer, independent of the model. For each example it builds one candidate
/// sequence per (label, word): prompt + the word's tokens (no EOS: the word is scored, not the stop).
/// Given the log-probability of each candidate token under the LM — log p(w_k | prompt, w_&lt;k) —
/// a label's score is the maximum over its words of the SUM of the word's token log-probs, i.e. the
/// log-probability of its likeliest word. Sums are not length-normalised, so a multi-token word is a
/// full sequence probability, comparable to single-token words. The prediction is the argmax (ties:
/// the earlier label).
/// </summary>
public sealed class LabelScorer
{
    readonly Template _template;
    readonly Verbalizer _verbalizer;
    readonly ITextEncoder _encoder;
    readonly RenderOptions _options;
    readonly IReadOnlyList<(string Label, string Word, int[] Ids)> _words;
    readonly int _longest;

    public LabelScorer(Template template, Verbalizer verbalizer, ITextEncoder encoder, RenderOptions? options = null)
    {
        _template = template; _verbalizer = verbalizer; _encoder = encoder;
        _options = (options ?? new RenderOptions()) with { Verbalizer = verbalizer };
        string prefix = _options.AnswerPrefix ?? template.ImpliedAnswerPrefix;
        var words = new List<(string, string, int[])>();
        foreach (var label in verbalizer.Labels)
        {
            var encoded = verbalizer.Encode(label, encoder, prefix);
            for (int i = 0; i < encoded.Count; i++) words.Add((label, verbalizer.WordsFor(label)[i], encoded[i]));
        }
        _words = words;
        _longest = words.Max(w => w.Item3.Length);
    }

    public IReadOnlyList<string> Labels => _verbalizer.Labels;

    /// <summary>The example's gold label, checked against the verbalizer (error naming the label and file:line).</summary>
    public string Gold(Example example)
    {
        string label = example.Field(_options.AnswerField);
        _verbalizer.WordsFor(label, example);
        return label;
    }

    /// <summary>Prompt + each word. The prompt is truncated (MaxLength) to leave room for the longest word.</summary>
    public ScoringCandidates Candidates(Example example)
    {
        var prompt = _template.RenderPrompt(example, _encoder, _options, _longest);
        var list = new LabelCandidate[_words.Count];
        for (int i = 0; i < list.Length; i++)
        {
            var (label, word, ids) = _words[i];
            list[i] = new LabelCandidate(label, word, new EncodedExample([.. prompt.Ids, .. ids], prompt.SoftSlots, prompt.AnswerStart, ids));
        }
        return new ScoringCandidates(example, prompt, list);
    }

    /// <summary>tokenLogProbs[c][k]: log-prob of candidate c's k-th word token.</summary>
    public LabelScores Score(ScoringCandidates candidates, IReadOnlyList<float[]> tokenLogProbs)
    {
        if (tokenLogProbs.Count != candidates.Candidates.Count)
            throw new ArgumentException($"LabelScorer: {tokenLogProbs.Count} log-prob arrays for {candidates.Candidates.Count} candidates of {candidates.Example.Where}.");
        var scores = new double[Labels.Count];
        Array.Fill(scores, double.NegativeInfinity);
        for (int c = 0; c < tokenLogProbs.Count; c++)
        {
            var cand = candidates.Candidates[c];
            if (tokenLogProbs[c].Length != cand.Sequence.AnswerIds.Length)
                throw new ArgumentException($"LabelScorer: candidate {c} ('{cand.Word}' for '{cand.Label}') has {cand.Sequence.AnswerIds.Length} tokens but {tokenLogProbs[c].Length} log-probs.");
            double sum = 0;
            foreach (var lp in tokenLogProbs[c]) sum += lp;
            int l = IndexOf(cand.Label);
            if (sum > scores[l]) scores[l] = sum;
        }
        int best = 0;
        for (int l = 1; l < scores.Length; l++) if (scores[l] > scores[best]) best = l;
        return new LabelScores(Labels, scores, best);
    }

    /// <summary>
    /// The log-probs as a model computes them over <see cref="Collator"/>'s batch of the candidates: one
    /// value per Target, candidates in order, each candidate's answer tokens in order.
    /// </summary>
    public LabelScores Score(ScoringCandidates candidates, ReadOnlySpan<float> flatTargetLogProbs)
    {
        int total = candidates.Candidates.Sum(c => c.Sequence.AnswerIds.Length);
        if (flatTargetLogProbs.Length != total)
            throw new ArgumentException($"LabelScorer: {flatTargetLogProbs.Length} target log-probs for {total} candidate tokens of {candidates.Example.Where}.");
        var split = new float[candidates.Candidates.Count][];
        int at = 0;
        for (int c = 0; c < split.Length; c++)
        {
            int n = candidates.Candidates[c].Sequence.AnswerIds.Length;
            split[c] = flatTargetLogProbs.Slice(at, n).ToArray();
            at += n;
        }
        return Score(candidates, split);
    }

    /// <summary>With a delegate that returns a sequence's answer-token log-probs (e.g. one forward pass each).</summary>
    public LabelScores Score(ScoringCandidates candidates, Func<EncodedExample, float[]> tokenLogProbs) =>
        Score(candidates, candidates.Candidates.Select(c => tokenLogProbs(c.Sequence)).ToArray());

    int IndexOf(string label)
    {
        for (int i = 0; i < Labels.Count; i++) if (Labels[i] == label) return i;
        throw new InvalidOperationException($"LabelScorer: label '{label}' is not in the verbalizer.");
    }
}
