namespace SoftPrompt.Cli.Tests;

/// <summary>softprompt metal train → metal generate → generate --adapter, end to end on a small random GPT-2 with GPT-2's tokenizer.</summary>
[Collection("console")]
public sealed class MetalCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-cli-metal-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static void WriteTask(string path, int shift, int n)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, Enumerable.Range(0, n).Select(i => $"{{\"input\": \"{i} {i + 1}\", \"output\": \"{i + shift} {i + 1 + shift}\"}}"));
    }

    [Fact]
    public void MetaTrainThenMakeATasksPromptThenGenerateWithIt()
    {
        for (int t = 0; t < 4; t++) WriteTask(Path.Combine(_dir, "tasks", "train", $"add{t}.jsonl"), t + 1, 10);
        WriteTask(Path.Combine(_dir, "tasks", "validation", "add9.jsonl"), 9, 10);
        string pgm = Path.Combine(_dir, "pgm"), adapter = Path.Combine(_dir, "adapter"), examples = Path.Combine(_dir, "examples.jsonl");
        string[] train = ["metal", "train", "--model", CliRunner.Gpt2Random, "--tasks", Path.Combine(_dir, "tasks"), "--design", "discrete", "--out", pgm,
            "--pad-tokens", "2", "--lora-r", "2", "--target-modules", "c_attn", "--prompt-demonstrations", "2", "--text-demonstrations", "1", "--queries", "2",
            "--episodes-per-step", "1", "--max-steps", "2", "--eval-every", "1"];
        var trained = CliRunner.Run(train);
        Assert.True(trained.Code == 0, trained.Err);
        foreach (var f in new[] { "pgm_config.json", "pgm.safetensors", "train_log.jsonl", "curves.svg", "checkpoint/meta_state.json" })
            Assert.True(File.Exists(Path.Combine(pgm, f)), f);
        Assert.Equal(0, CliRunner.Run(train).Code);   // a finished run resumes and stops at once

        WriteTask(examples, 7, 4);
        var made = CliRunner.Run("metal", "generate", "--model", CliRunner.Gpt2Random, "--pgm", pgm, "--examples", examples, "--out", adapter);
        Assert.True(made.Code == 0, made.Err);
        Assert.Contains("as text:", made.Out);   // a discrete prompt is printable
        var generated = CliRunner.Run("generate", "--model", CliRunner.Gpt2Random, "--adapter", adapter, "--prompt", "5 6", "--max-new-tokens", "2", "--json");
        Assert.True(generated.Code == 0, generated.Err);
        var inspected = CliRunner.Run("inspect", adapter, "--model", CliRunner.Gpt2Random, "--json");
        Assert.True(inspected.Code == 0, inspected.Err);
        Assert.Contains("\"method\":\"prompt\"", inspected.Out);
        Assert.Contains("\"design\":\"discrete\"", inspected.Out);

        var evaluated = CliRunner.Run("eval", "--model", CliRunner.Gpt2Random, "--adapter", adapter, "--data", examples, "--json");
        Assert.True(evaluated.Code == 0, evaluated.Err);
        var analyzed = CliRunner.Run("analyze", "attention", "--model", CliRunner.Gpt2Random, "--adapter", adapter, "--data", examples, "--out", Path.Combine(_dir, "attention"));
        Assert.True(analyzed.Code == 0, analyzed.Err);   // the diagnostic reads a generated prompt like any other

        var refined = CliRunner.Run("metal", "generate", "--model", CliRunner.Gpt2Random, "--pgm", pgm, "--examples", examples, "--out", adapter + "-refined", "--refine-steps", "2");
        Assert.True(refined.Code == 0, refined.Err);
        Assert.True(File.Exists(Path.Combine(adapter + "-refined", "train_log.jsonl")));
    }

    [Fact]
    public void BadExamplesAndAMissingPgmAreOneLineErrors()
    {
        string examples = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(examples, ["{\"input\": \"1 2\", \"output\": \"3 4\"}", "{\"input\": \"1 2\"}"]);
        var missing = CliRunner.Run("metal", "generate", "--model", CliRunner.Gpt2Random, "--pgm", Path.Combine(_dir, "nowhere"), "--examples", examples, "--out", Path.Combine(_dir, "a"));
        Assert.Equal(1, missing.Code);
        Assert.Contains("pgm_config.json: not found", missing.Err);
        Assert.DoesNotContain("\n   at ", missing.Err);

        var lm = Models.Architectures.ModelLoader.Load(CliRunner.Gpt2Random);
        string pgm = Path.Combine(_dir, "pgm");
        MetaL.PgmDirectory.Save(pgm, new MetaL.PromptGenerator(new MetaL.PgmConfig(MetaL.PromptDesign.HiddenState, PadTokens: 2, LoraRank: 1), lm, new Tensors.Rng(1)), lm, new MetaL.EpisodeFormat(), 2, 0);
        var ragged = CliRunner.Run("metal", "generate", "--model", CliRunner.Gpt2Random, "--pgm", pgm, "--examples", examples, "--out", Path.Combine(_dir, "b"));
        Assert.Equal(1, ragged.Code);
        Assert.Contains($"{examples}:2: field 'output' is missing", ragged.Err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "b")));   // nothing written
    }
}
