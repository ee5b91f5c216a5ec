using System.Text.Json;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tokenizers;

namespace SoftPrompt.Cli.Tests;

[Collection("console")]
public class GenerateCommandTests
{
    [Fact]
    public void JsonOutputHoldsThePromptIdsTheNewIdsAndTheirText()
    {
        string dir = CliRunner.Gpt2Random;
        var (code, stdout, stderr) = CliRunner.Run("generate", "--model", dir, "--prompt", "Hello, world", "--max-new-tokens", "6", "--temperature", "0", "--json");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var promptIds = doc.RootElement.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var outputIds = doc.RootElement.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var tokenizer = Tokenizer.FromDirectory(dir);
        Assert.Equal(tokenizer.Encode("Hello, world", addSpecialTokens: true), promptIds);
        var expected = Generator.Generate(ModelLoader.Load(dir), promptIds, new GenerationOptions(MaxNewTokens: 6, EosTokenId: 50256)).ToArray();
        Assert.Equal(expected, outputIds);
        Assert.Equal(tokenizer.Decode(outputIds, skipSpecialTokens: true), doc.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void StreamedTextEqualsTheJsonText()
    {
        string dir = CliRunner.Gpt2Random;
        var json = CliRunner.Run("generate", "--model", dir, "--prompt", "Once upon a time", "--max-new-tokens", "8", "--temperature", "0.9", "--seed", "3", "--json");
        var text = CliRunner.Run("generate", "--model", dir, "--prompt", "Once upon a time", "--max-new-tokens", "8", "--temperature", "0.9", "--seed", "3");
        Assert.Equal(0, text.Code);
        Assert.Equal(JsonDocument.Parse(json.Out).RootElement.GetProperty("text").GetString() + Environment.NewLine, text.Out);
    }

    [Fact]
    public void BadArgumentsAreOneLineErrors()
    {
        var missing = CliRunner.Run("generate", "--model", "/nonexistent/model", "--prompt", "x");
        Assert.Equal(1, missing.Code);
        Assert.StartsWith("error: /nonexistent/model", missing.Err);
        var noAdapter = CliRunner.Run("generate", "--model", CliRunner.Gpt2Random, "--prompt", "x", "--adapter", "/nonexistent/adapter");
        Assert.Equal(1, noAdapter.Code);
        Assert.Contains("no such adapter directory", noAdapter.Err);
    }

    /// <summary>A field of the wrong JSON kind crashed `generate --adapter` with an InvalidOperationException and a stack trace.</summary>
    [Theory]
    [InlineData("adapter_config.json", "task_type")]
    [InlineData("softprompt.json", "template")]
    public void AnAdapterFieldOfTheWrongJsonKindIsAOneLineError(string file, string field)
    {
        var lm = Models.Architectures.ModelLoader.Load(CliRunner.Gpt2Random);
        string dir = Directory.CreateTempSubdirectory("softprompt-bad-adapter-").FullName;
        try
        {
            var method = Tuning.Methods.MethodRegistry.Get("prompt").Create(new Tuning.Methods.MethodOptions { VirtualTokens = 2 }, lm, new Tensors.Rng(1));
            Tuning.Adapters.AdapterDirectory.Save(dir, method, lm, null, new System.Text.Json.Nodes.JsonObject { ["template"] = "{soft:2}{text}{answer}" });
            var good = CliRunner.Run("generate", "--model", CliRunner.Gpt2Random, "--prompt", "x", "--adapter", dir, "--max-new-tokens", "1");
            Assert.True(good.Code == 0, good.Err);
            string path = Path.Combine(dir, file);
            var o = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            o[field] = new System.Text.Json.Nodes.JsonArray("a");
            File.WriteAllText(path, o.ToJsonString());
            var bad = CliRunner.Run("generate", "--model", CliRunner.Gpt2Random, "--prompt", "x", "--adapter", dir);
            Assert.Equal(1, bad.Code);
            Assert.Equal($"error: {path}: field '{field}' must be a string, got [\"a\"].", bad.Err.Trim());
        }
        finally { Directory.Delete(dir, true); }
    }
}

[CollectionDefinition("console", DisableParallelization = true)]
public class ConsoleCollection;
