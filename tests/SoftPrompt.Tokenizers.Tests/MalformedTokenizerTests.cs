using SoftPrompt.Tokenizers;

namespace SoftPrompt.Tokenizers.Tests;

/// <summary>Bad tokenizer files fail with a TokenizerFormatException that names the file and the JSON path.</summary>
public sealed class MalformedTokenizerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string Bpe = """{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}""";

    string Write(string json, string name = "tokenizer.json")
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    [Theory]
    [InlineData("""{"model": """, null, "not valid JSON")]
    [InlineData("""[1, 2]""", "(root)", "expected a JSON object")]
    [InlineData("""{"normalizer": null}""", "model", "is missing")]
    [InlineData("""{"model": {"type": "Magic", "vocab": {}}}""", "model.type", "unknown model type 'Magic'")]
    [InlineData("""{"model": {"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b", "a c"]}}""", "model.merges[1]", "'c' is not in the vocabulary")]
    [InlineData("""{"model": {"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}""", "model.merges[0]", "merged token 'ab' is not in the vocabulary")]
    [InlineData("""{"model": {"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b c"]}}""", "model.merges[0]", "two tokens")]
    [InlineData("""{"model": {"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a"]]}}""", "model.merges[0]", "expected")]
    [InlineData("""{"model": {"type":"BPE","vocab":{"a":"zero"},"merges":[]}}""", "model.vocab.a", "non-negative integer")]
    [InlineData("""{"model": {"type":"BPE","vocab":[],"merges":[]}}""", "model.vocab", "expected an object")]
    [InlineData("""{"model": {"type":"BPE","vocab":{"a":0},"merges":[],"dropout":0.1}}""", "model.dropout", "dropout")]
    [InlineData("""{"model": BPE_MODEL, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Nope"}]}}""", "pre_tokenizer.pretokenizers[0].type", "unknown pre-tokenizer type 'Nope'")]
    [InlineData("""{"model": BPE_MODEL, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}}""", "pre_tokenizer.pattern.Regex", "regular expression")]
    [InlineData("""{"model": BPE_MODEL, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "a"}, "behavior": "Sideways"}}""", "pre_tokenizer.behavior", "Sideways")]
    [InlineData("""{"model": BPE_MODEL, "normalizer": {"type": "NFX"}}""", "normalizer.type", "unknown normalizer type 'NFX'")]
    [InlineData("""{"model": BPE_MODEL, "normalizer": {"type": "Precompiled", "precompiled_charsmap": ""}}""", "normalizer.type", "Precompiled")]
    [InlineData("""{"model": BPE_MODEL, "decoder": {"type": "Strip", "content": "ab", "start": 1, "stop": 0}}""", "decoder.content", "single character")]
    [InlineData("""{"model": BPE_MODEL, "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}], "special_tokens": {}}}""", "post_processor.single[0].SpecialToken.id", "'<s>' is not in special_tokens")]
    [InlineData("""{"model": BPE_MODEL, "added_tokens": [{"id": 5, "content": ""}]}""", "added_tokens[0].content", "cannot be empty")]
    [InlineData("""{"model": BPE_MODEL, "added_tokens": [{"content": "x"}]}""", "added_tokens[0].id", "is missing")]
    [InlineData("""{"model": {"type":"Unigram","vocab":[["a", "high"]],"unk_id":0}}""", "model.vocab[0][1]", "expected a number")]
    [InlineData("""{"model": {"type":"Unigram","vocab":[["a", -1.0]],"unk_id":3}}""", "model.unk_id", "past the end")]
    public void BadFilesNameTheFileAndTheKey(string json, string? path, string message)
    {
        string file = Write(json.Replace("BPE_MODEL", Bpe));
        var e = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromFile(file));
        Assert.Equal(file, e.File);
        Assert.Equal(path, e.JsonPath);
        Assert.Contains(message, e.Message);
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void Gpt2MergesReferencingUnknownTokensNameTheLine()
    {
        string vocab = Write("""{"a":0,"b":1,"ab":2}""", "vocab.json");
        string merges = Write("#version: 0.2\na b\nab c\n", "merges.txt");
        var e = Assert.Throws<TokenizerFormatException>(() => Tokenizer.FromGpt2Files(vocab, merges));
        Assert.Equal("line 3", e.JsonPath);
        Assert.Contains("'c' is not in the vocabulary", e.Message);
    }

    [Fact]
    public void MissingFilesAndDirectoriesAreClearErrors()
    {
        Assert.Throws<FileNotFoundException>(() => Tokenizer.FromFile(Path.Combine(_dir, "nope.json")));
        var e = Assert.Throws<FileNotFoundException>(() => Tokenizer.FromDirectory(_dir));
        Assert.Contains("tokenizer.json", e.Message);
        Assert.Throws<DirectoryNotFoundException>(() => Tokenizer.FromDirectory(Path.Combine(_dir, "missing")));
    }

    [Fact]
    public void ASmallBpeFileEncodesAndDecodes()
    {
        var t = Tokenizer.FromFile(Write($$"""{"model": {{Bpe}}, "added_tokens": [{"id": 3, "content": "<x>", "special": true}]}"""));
        Assert.Equal([2, 3, 0], t.Encode("ab<x>a"));
        Assert.Equal("ab <x> a", t.Decode([2, 3, 0]));        // no decoder: tokens joined by spaces, as in Hugging Face
        Assert.Equal("ab a", t.Decode([2, 3, 0], skipSpecialTokens: true));
        Assert.Equal(4, t.VocabSize);
        Assert.Equal("BPE, no pre-tokenizer, 4 tokens", t.Description);
    }
}
