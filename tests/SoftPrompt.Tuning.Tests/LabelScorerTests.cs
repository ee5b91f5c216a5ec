using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

public class LabelScorerTests
{
    static readonly Template T = Template.Parse("{soft:2}{text} It was{answer}");
    static readonly RenderOptions Options = new() { AnswerField = "label" };

    [Fact]
    public void Candidates_are_prompt_plus_each_word()
    {
        var words = new WordEncoder();
        var v = Verbalizer.Parse("pos=very good|great,neg=bad");
        var scorer = new LabelScorer(T, v, words, Options);
        var c = scorer.Candidates(Example.Of(("text", "fine"), ("label", "pos")));
        int[] prompt = [0, 0, words.Id("fine"), words.Id(" It"), words.Id(" was")];
        Assert.Equal(prompt, c.Prompt.Ids);
        Assert.Equal(["pos", "pos", "neg"], c.Candidates.Select(x => x.Label));
        Assert.Equal(["very good", "great", "bad"], c.Candidates.Select(x => x.Word));
        Assert.Equal([.. prompt, words.Id(" very"), words.Id(" good")], c.Candidates[0].Sequence.Ids);
        Assert.Equal(prompt.Length, c.Candidates[0].Sequence.AnswerStart);
        Assert.Equal([new SoftSlot(0, 0, 2)], c.Candidates[2].Sequence.SoftSlots);
        Assert.Equal("pos", scorer.Gold(Example.Of(("text", "x"), ("label", "pos"))));
        Assert.Throws<DataFormatException>(() => scorer.Gold(Example.Of(("text", "x"), ("label", "meh"))));
    }

    [Fact]
    public void Label_score_is_max_over_words_of_summed_token_logprobs()
    {
        var words = new WordEncoder();
        var scorer = new LabelScorer(T, Verbalizer.Parse("pos=very good|great,neg=bad"), words, Options);
        var c = scorer.Candidates(Example.Of(("text", "fine"), ("label", "pos")));
        // "very good" = -0.5 + -0.6 = -1.1 beats "great" = -2; "bad" = -1.0 beats both → neg.
        var s = scorer.Score(c, [[-0.5f, -0.6f], [-2f], [-1f]]);
        Assert.Equal(-1.1, s.Scores[0], 6);
        Assert.Equal(-1.0, s.Scores[1], 6);
        Assert.Equal("neg", s.Predicted);
        // The multi-token word is summed, not averaged: with mean it would be -0.55 and win.
        var s2 = scorer.Score(c, [[-0.5f, -0.4f], [-3f], [-1f]]);
        Assert.Equal("pos", s2.Predicted);
        Assert.Equal(-0.9, s2.Scores[0], 6);
    }

    [Fact]
    public void Flat_logprobs_follow_the_collated_targets()
    {
        var words = new WordEncoder();
        var scorer = new LabelScorer(T, Verbalizer.Parse("pos=very good|great,neg=bad"), words, Options);
        var c = scorer.Candidates(Example.Of(("text", "fine"), ("label", "pos")));
        var batch = new Collator().Collate(c.Candidates.Select(x => x.Sequence).ToArray());
        Assert.Equal([words.Id(" very"), words.Id(" good"), words.Id(" great"), words.Id(" bad")], batch.Targets);
        // A fake LM: log p = -(target id)/100 at each output position.
        var flat = batch.Targets.Select(t => -t / 100f).ToArray();
        var s = scorer.Score(c, flat);
        var expect = scorer.Score(c, c.Candidates.Select(x => x.Sequence.AnswerIds.Select(t => -t / 100f).ToArray()).ToArray());
        Assert.Equal(expect.Scores, s.Scores);
        var viaDelegate = scorer.Score(c, seq => seq.AnswerIds.Select(t => -t / 100f).ToArray());
        Assert.Equal(expect.Scores, viaDelegate.Scores);
        Assert.Throws<ArgumentException>(() => scorer.Score(c, flat.AsSpan(1)));
    }

    [Fact]
    public void Ties_go_to_the_earlier_label()
    {
        var scorer = new LabelScorer(T, Verbalizer.Parse("a=x,b=y"), new CharEncoder(), Options);
        var c = scorer.Candidates(Example.Of(("text", "t")));
        Assert.Equal("a", scorer.Score(c, [[-1f, -1f], [-1f, -1f]]).Predicted);
    }

    [Fact]
    public void Prompt_truncation_leaves_room_for_the_longest_word()
    {
        var chars = new CharEncoder();
        var scorer = new LabelScorer(T, Verbalizer.Parse("a=x,b=yyyy"), chars, Options with { MaxLength = 14 });
        var c = scorer.Candidates(Example.Of(("text", "abcdefgh")));
        // prompt = 2 soft + text + " It was" (7) ; the longest candidate " yyyy" is 5 → text keeps 0 chars.
        Assert.Equal(9, c.Prompt.Ids.Length);
        Assert.All(c.Candidates, x => Assert.True(x.Sequence.Ids.Length <= 14));
    }
}
