using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

public class CollatorTests
{
    [Fact]
    public void Right_pads_and_marks_answer_positions()
    {
        var a = new EncodedExample([0, 0, 11, 12, 21, 22], [new SoftSlot(0, 0, 2)], 4, [21, 22]);
        var b = new EncodedExample([13, 0, 31], [new SoftSlot(1, 0, 1)], 2, [31]);
        var batch = new Collator(padId: 99).Collate([a, b]);
        Assert.Equal(2, batch.Batch);
        Assert.Equal(6, batch.Seq);
        Assert.Equal([0, 0, 11, 12, 21, 22, 13, 0, 31, 99, 99, 99], batch.Ids);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], batch.AttentionMask);
        // Row 0: positions 3, 4 predict 21, 22; row 1: position 1 predicts 31 → flat 6 + 1.
        Assert.Equal([3, 4, 7], batch.OutputPositions);
        Assert.Equal([21, 22, 31], batch.Targets);
        for (int i = 0; i < batch.Targets.Length; i++) Assert.Equal(batch.Targets[i], batch.Ids[batch.OutputPositions[i] + 1]);
        Assert.Equal([new SoftSlot(1, 0, 1)], batch.SoftSlots[1]);
        Assert.Equal(9, batch.TokenCount);
    }

    [Fact]
    public void Rendered_examples_round_trip_with_eos()
    {
        var chars = new CharEncoder();
        var t = Template.Parse("{soft:3}{q}{answer}");
        var opts = new RenderOptions { EosId = CharEncoder.Eos };
        var rows = new[] { t.Render(Example.Of(("q", "ab"), ("answer", "c")), chars, opts), t.Render(Example.Of(("q", "a"), ("answer", "xyz")), chars, opts) };
        var batch = new Collator(padId: 0, padToMultipleOf: 8).Collate(rows);
        Assert.Equal(16, batch.Seq);
        var targets = rows.SelectMany(r => r.AnswerIds).ToArray();
        Assert.Equal(targets, batch.Targets);
        Assert.Equal(CharEncoder.Eos, batch.Targets[^1]);
        for (int i = 0; i < batch.Targets.Length; i++) Assert.Equal(batch.Targets[i], batch.Ids[batch.OutputPositions[i] + 1]);
    }

    [Fact]
    public void Prompts_without_answers_have_no_outputs()
    {
        var batch = new Collator().Collate([new EncodedExample([5, 6], [], 2, [])]);
        Assert.Empty(batch.OutputPositions);
        Assert.Empty(batch.Targets);
    }

    [Fact]
    public void Bad_rows()
    {
        var c = new Collator();
        Assert.Throws<ArgumentException>(() => c.Collate([]));
        Assert.Contains("position 0", Assert.Throws<ArgumentException>(() => c.Collate([new EncodedExample([5], [], 0, [5])])).Message);
        Assert.Contains("add up", Assert.Throws<ArgumentException>(() => c.Collate([new EncodedExample([5, 6], [], 0, [6])])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Collator(0, 0));
    }
}
