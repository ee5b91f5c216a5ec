using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

public class DatasetTests
{
    [Fact]
    public void Jsonl_values_become_strings_with_source_lines()
    {
        var data = Dataset.Load(Fixture.Path("sst2-tiny.jsonl"));
        Assert.Equal(3, data.Count);
        Assert.Equal("a gripping, funny film", data[0].Fields["sentence"]);
        Assert.Equal("0", data[0].Fields["idx"]);
        Assert.Equal(1, data[0].Line);
        Assert.Equal(4, data[2].Line);                      // the blank line 3 is skipped but counted
        Assert.Equal("I said \"wow\"", data[2].Fields["sentence"]);
        Assert.Equal("4.50", data[2].Fields["score"]);       // the number's source text
        Assert.Equal("true", data[2].Fields["gold"]);
        Assert.False(data[2].Fields.ContainsKey("note"));   // null: absent
        Assert.EndsWith("sst2-tiny.jsonl", data[2].Source);
    }

    [Fact]
    public void Jsonl_nested_value_names_line_and_field()
    {
        var e = Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("nested.jsonl")));
        Assert.Contains("nested.jsonl:2:", e.Message);
        Assert.Contains("'text'", e.Message);
        Assert.Contains("object", e.Message);
    }

    [Fact]
    public void Jsonl_bad_json_names_line()
    {
        var e = Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("bad.jsonl")));
        Assert.Contains("bad.jsonl:3:", e.Message);
    }

    [Theory]
    [InlineData("[1, 2]", "JSON object")]
    [InlineData("{\"a\": 1, \"a\": 2}", "appears twice")]
    [InlineData("{\"a\": [1]}", "'a'")]
    public void Jsonl_other_bad_lines(string line, string expected)
    {
        var e = Assert.Throws<DataFormatException>(() => JsonlReader.Parse("{\"ok\": 1}\n" + line + "\n", "mem.jsonl"));
        Assert.StartsWith("mem.jsonl:2:", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Empty_file_is_an_error()
    {
        var e = Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("empty.jsonl")));
        Assert.Contains("empty.jsonl:1:", e.Message);
        Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("header-only.csv")));
    }

    [Fact]
    public void Unknown_extension_and_missing_file()
    {
        Assert.Contains("extension", Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("verbalizer.json"))).Message);
        Assert.Contains("not found", Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("nope.jsonl"))).Message);
    }

    [Fact]
    public void Csv_quotes_commas_newlines_crlf()
    {
        var data = Dataset.Load(Fixture.Path("qa-tiny.csv"));
        Assert.Equal(3, data.Count);
        Assert.Equal("Who wrote \"Hamlet\"?", data[0].Fields["question"]);
        Assert.Equal("Plays, poems", data[0].Fields["context"]);
        Assert.Equal(2, data[0].Line);
        Assert.Equal("line one\r\nline two", data[1].Fields["context"]);
        Assert.Equal(3, data[1].Line);
        Assert.Equal(5, data[2].Line);                       // the record after a two-line field
        Assert.Equal("", data[2].Fields["question"]);
        Assert.Equal("", data[2].Fields["answer"]);
    }

    [Fact]
    public void Csv_ragged_row_names_line()
    {
        var e = Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("ragged.csv")));
        Assert.Contains("ragged.csv:3:", e.Message);
        Assert.Contains("2 fields", e.Message);
    }

    [Fact]
    public void Csv_unterminated_quote_names_the_line_it_opens_on()
    {
        var e = Assert.Throws<DataFormatException>(() => Dataset.Load(Fixture.Path("unterminated.csv")));
        Assert.Contains("unterminated.csv:2:", e.Message);
    }

    [Theory]
    [InlineData("a,b\n1,x\"y\n", "m.csv:2:", "unquoted")]
    [InlineData("a,b\n1,\"x\"y\n", "m.csv:2:", "closing quote")]
    [InlineData("a,a\n1,2\n", "m.csv:1:", "twice")]
    [InlineData("a,\n1,2\n", "m.csv:1:", "no name")]
    public void Csv_strictness(string text, string where, string what)
    {
        var e = Assert.Throws<DataFormatException>(() => CsvReader.Parse(text, "m.csv"));
        Assert.StartsWith(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void Csv_without_final_newline_and_blank_lines()
    {
        var data = CsvReader.Parse("a,b\n\n1,2\n\n3,\"4\"", "m.csv");
        Assert.Equal(2, data.Count);
        Assert.Equal("4", data[1].Fields["b"]);
        Assert.Equal(5, data[1].Line);
    }

    [Fact]
    public void Jsonl_with_crlf_line_ends()
    {
        var data = JsonlReader.Parse("{\"a\": \"x\"}\r\n\r\n{\"a\": 2}\r\n", "m.jsonl");
        Assert.Equal(["x", "2"], data.Select(d => d.Fields["a"]));
        Assert.Equal([1, 3], data.Select(d => d.Line));
    }

    [Fact]
    public void Missing_field_names_file_line_and_field()
    {
        var ex = Dataset.Load(Fixture.Path("sst2-tiny.jsonl"))[1];
        var e = Assert.Throws<DataFormatException>(() => ex.Field("text"));
        Assert.Contains("sst2-tiny.jsonl:2:", e.Message);
        Assert.Contains("'text'", e.Message);
    }
}
