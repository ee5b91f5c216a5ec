using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

public class VerbalizerTests
{
    [Fact]
    public void Json_and_cli_forms_agree()
    {
        var a = Verbalizer.Load(Fixture.Path("verbalizer.json"));
        var b = Verbalizer.Parse("positive=great|good,negative=terrible");
        Assert.Equal(["positive", "negative"], a.Labels);
        Assert.Equal(a.Labels, b.Labels);
        foreach (var l in a.Labels) Assert.Equal(a.WordsFor(l), b.WordsFor(l));
        Assert.Equal(["great", "good"], a.WordsFor("positive"));
    }

    [Theory]
    [InlineData("pos=great,pos=good", "twice")]
    [InlineData("pos", "label=word")]
    [InlineData("pos=a=b", "label=word")]
    [InlineData("pos=great|,neg=bad", "empty word")]
    [InlineData("=great", "label is empty")]
    public void Bad_cli_specs(string spec, string expected) =>
        Assert.Contains(expected, Assert.Throws<DataFormatException>(() => Verbalizer.Parse(spec)).Message);

    [Theory]
    [InlineData("[\"a\"]", "JSON object")]
    [InlineData("{\"pos\": 1}", "'pos'")]
    [InlineData("{\"pos\": [\"a\", 2]}", "'pos'")]
    [InlineData("{\"pos\": []}", "no words")]
    [InlineData("{}", "no labels")]
    [InlineData("{", "not valid JSON")]
    public void Bad_json(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<DataFormatException>(() => Verbalizer.FromJson(json, "v.json")).Message);

    [Fact]
    public void Unknown_label_names_the_label_and_line()
    {
        var v = Verbalizer.Parse("pos=great,neg=bad");
        var ex = new Example(new Dictionary<string, string> { ["label"] = "neutral" }, "dev.jsonl", 41);
        var e = Assert.Throws<DataFormatException>(() => v.WordsFor("neutral", ex));
        Assert.StartsWith("dev.jsonl:41:", e.Message);
        Assert.Contains("'neutral'", e.Message);
        var t = Template.Parse("{label}? It was{answer}");
        Assert.Throws<DataFormatException>(() => t.Render(ex, new CharEncoder(), new RenderOptions { AnswerField = "label", Verbalizer = v }));
    }

    [Fact]
    public void Words_are_encoded_with_the_prefix_and_may_take_several_tokens()
    {
        var words = new WordEncoder();
        var v = Verbalizer.Parse("pos=very good|great,neg=bad");
        var encoded = v.Encode("pos", words, " ");
        Assert.Equal([words.Id(" very"), words.Id(" good")], encoded[0]);
        Assert.Equal([words.Id(" great")], encoded[1]);
        Assert.Equal([words.Id("bad")], v.Encode("neg", words, "")[0]);
    }
}
