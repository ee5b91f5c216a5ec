using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

public class TemplateTests
{
    static readonly CharEncoder Chars = new();
    static int[] C(string s) => Chars.Encode(s);
    static int[] Soft(int n) => new int[n];

    [Fact]
    public void PTuning_333_numbers_virtual_tokens_across_slots()
    {
        var t = Template.Parse("{soft:3}{sentence}{soft:3} It was {soft:3}{answer}");
        Assert.Equal(9, t.SoftTokenCount);
        Assert.Equal(["sentence"], t.Fields);
        Assert.Equal([0, 3, 6], t.Parts.OfType<SoftPart>().Select(s => s.VirtualStart));

        var e = t.Render(Example.Of(("sentence", "ok"), ("answer", "yes")), Chars);
        int[] prompt = [.. Soft(3), .. C("ok"), .. Soft(3), .. C(" It was "), .. Soft(3)];
        Assert.Equal([.. prompt, .. C("yes")], e.Ids);
        Assert.Equal([new SoftSlot(0, 0, 3), new SoftSlot(5, 3, 3), new SoftSlot(16, 6, 3)], e.SoftSlots);
        Assert.Equal(prompt.Length, e.AnswerStart);
        Assert.Equal(C("yes"), e.AnswerIds);       // "It was " ends in a space: no prefix
        Assert.Equal(9, e.SoftTokenCount);
    }

    [Fact]
    public void Soft_alone_is_one_token_and_escapes_are_literal()
    {
        var t = Template.Parse("{{x}} {soft}{text}}}{answer}");
        Assert.Equal(1, t.SoftTokenCount);
        var e = t.RenderPrompt(Example.Of(("text", "hi")), Chars);
        Assert.Equal([.. C("{x} "), 0, .. C("hi}")], e.Ids);
        Assert.Equal([new SoftSlot(4, 0, 1)], e.SoftSlots);
        Assert.Empty(e.AnswerIds);
        Assert.Equal(e.Ids.Length, e.AnswerStart);
    }

    [Fact]
    public void Prompt_tuning_default()
    {
        var t = Template.PromptTuning(4);
        Assert.Equal("{soft:4}{text}{answer}", t.Source);
        var e = t.Render(Example.Of(("text", "ab"), ("answer", "c")), Chars);
        Assert.Equal([0, 0, 0, 0, .. C("ab"), .. C(" c")], e.Ids);   // a field before the answer implies a space
    }

    [Theory]
    [InlineData("{text}", "no {answer}")]
    [InlineData("{text}{answer} .", "column 7")]
    [InlineData("{answer}{text}", "column 1")]
    [InlineData("{soft:0}{answer}", "column 1")]
    [InlineData("ab{soft:x}{answer}", "column 3")]
    [InlineData("{a b}{answer}", "unknown construct")]
    [InlineData("{}{answer}", "unknown construct")]
    [InlineData("x } {answer}", "column 3")]
    [InlineData("x {text {answer}", "column 3")]
    [InlineData("{answer:label}{answer}", "no argument")]
    [InlineData("{text}{answer}{answer}", "second {answer}")]
    public void Bad_templates_quote_the_template_and_column(string template, string expected)
    {
        var e = Assert.Throws<TemplateException>(() => Template.Parse(template));
        Assert.Contains($"\"{template}\"", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("It was{answer}", " ")]
    [InlineData("It was {answer}", "")]
    [InlineData("{text}{answer}", " ")]
    [InlineData("{text}{soft:2}{answer}", "")]
    [InlineData("{answer}", "")]
    public void Implied_answer_prefix(string template, string prefix) =>
        Assert.Equal(prefix, Template.Parse(template).ImpliedAnswerPrefix);

    [Fact]
    public void Text_is_encoded_piece_by_piece_between_soft_slots()
    {
        var words = new WordEncoder();
        var t = Template.Parse("{text} It was{soft:1}great{answer}");
        var e = t.Render(Example.Of(("text", "fun film"), ("answer", "yes")), words);
        // "fun film It was" is one piece; "great" after the slot is another, so it has no leading space.
        Assert.Equal([words.Id("fun"), words.Id(" film"), words.Id(" It"), words.Id(" was"), 0, words.Id("great"), words.Id(" yes")], e.Ids);
    }

    [Fact]
    public void Answer_prefix_is_configurable()
    {
        var words = new WordEncoder();
        var t = Template.Parse("It was{answer}");
        var ex = Example.Of(("label", "good"));
        Assert.Equal([words.Id(" good")], t.Render(ex, words, new RenderOptions { AnswerField = "label" }).AnswerIds);
        Assert.Equal([words.Id("good")], t.Render(ex, words, new RenderOptions { AnswerField = "label", AnswerPrefix = "" }).AnswerIds);
    }

    [Fact]
    public void Bos_and_eos()
    {
        var t = Template.Parse("{soft:2}{q}={answer}");
        var e = t.Render(Example.Of(("q", "1+1"), ("answer", "2")), Chars, new RenderOptions { BosId = CharEncoder.Bos, EosId = CharEncoder.Eos });
        // "=" is text not ending in a space, so the answer gets the implied " ".
        Assert.Equal([CharEncoder.Bos, 0, 0, .. C("1+1="), .. C(" 2"), CharEncoder.Eos], e.Ids);
        Assert.Equal([new SoftSlot(1, 0, 2)], e.SoftSlots);
        Assert.Equal([.. C(" 2"), CharEncoder.Eos], e.AnswerIds);
        Assert.Equal(7, e.AnswerStart);
    }

    [Fact]
    public void Verbalizer_answer_is_the_labels_first_word()
    {
        var v = Verbalizer.Parse("pos=great|good,neg=bad");
        var e = Template.Parse("{text} It was {answer}").Render(Example.Of(("text", "x"), ("label", "pos")), Chars,
            new RenderOptions { AnswerField = "label", Verbalizer = v });
        Assert.Equal(C("great"), e.AnswerIds);
    }

    [Fact]
    public void Missing_field_names_file_line_and_field()
    {
        var ex = new Example(new Dictionary<string, string> { ["text"] = "a" }, "train.jsonl", 7);
        var e = Assert.Throws<DataFormatException>(() => Template.Parse("{text} {question}{answer}").Render(ex, Chars));
        Assert.StartsWith("train.jsonl:7:", e.Message);
        Assert.Contains("'question'", e.Message);
        var e2 = Assert.Throws<DataFormatException>(() => Template.Parse("{text}{answer}").Render(ex, Chars));
        Assert.Contains("'answer'", e2.Message);
    }

    [Theory]
    [InlineData(TruncationSide.Right, "abcdefgh", "ab")]
    [InlineData(TruncationSide.Left, "stuvwxyz", "ab")]
    public void Truncation_cuts_the_longest_field_and_keeps_soft_tokens_and_answer(TruncationSide side, string keptLong, string keptShort)
    {
        // Fields: long (12 chars), short (2 chars). Literal "|" twice, 2 soft tokens, answer " ok" + EOS = 4.
        var t = Template.Parse("{soft:2}{long}|{short}|{answer}");
        var ex = Example.Of(("long", side == TruncationSide.Right ? "abcdefghijkl" : "opqrstuvwxyz"), ("short", "ab"), ("answer", "ok"));
        var full = t.Render(ex, Chars, new RenderOptions { EosId = CharEncoder.Eos });
        Assert.Equal(2 + 12 + 1 + 2 + 1 + 3 + 1, full.Ids.Length);
        var cut = t.Render(ex, Chars, new RenderOptions { EosId = CharEncoder.Eos, MaxLength = 18, Truncation = side });
        Assert.Equal(18, cut.Ids.Length);
        Assert.Equal([0, 0, .. C(keptLong + "|" + keptShort + "|"), .. C(" ok"), CharEncoder.Eos], cut.Ids);
        Assert.Equal([new SoftSlot(0, 0, 2)], cut.SoftSlots);
    }

    [Fact]
    public void Truncation_is_longest_first_across_fields()
    {
        var t = Template.Parse("{a}|{b}{answer}");
        var cut = t.Render(Example.Of(("a", "aaaaaa"), ("b", "bbbb"), ("answer", "")), Chars, new RenderOptions { MaxLength = 7, AnswerPrefix = "" });
        // 11 prompt tokens → 7, one token at a time from the longest: a 6→5→4, tie (4, 4) → a 3, then b 4→3.
        Assert.Equal(C("aaa|bbb"), cut.Ids);
    }

    [Fact]
    public void Truncation_that_cannot_fit_is_an_error_naming_the_example()
    {
        var t = Template.Parse("{soft:5} long literal text {x}{answer}");
        var ex = new Example(new Dictionary<string, string> { ["x"] = "abc", ["answer"] = "y" }, "d.csv", 12);
        var e = Assert.Throws<DataFormatException>(() => t.Render(ex, Chars, new RenderOptions { MaxLength = 10 }));
        Assert.StartsWith("d.csv:12:", e.Message);
        Assert.Contains("MaxLength 10", e.Message);
    }

    [Fact]
    public void Render_prompt_reserves_room_for_an_answer()
    {
        var t = Template.Parse("{text}:{answer}");
        var e = t.RenderPrompt(Example.Of(("text", "abcdef")), Chars, new RenderOptions { MaxLength = 6 }, reserve: 2);
        Assert.Equal(C("abc:"), e.Ids);
    }
}
