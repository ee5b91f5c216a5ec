using System.Text.Json;

namespace SoftPrompt.Cli.Tests;

/// <summary>train → eval → inspect → generate --adapter through the CLI, on a random GPT-2 with the real tokenizer; bad input as one-line errors.</summary>
[Collection("console")]
public sealed class TrainCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-cli-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    string GenerationData() => Write("train.jsonl", """
        {"text": "The capital of France is", "answer": "Paris"}
        {"text": "The capital of Italy is", "answer": "Rome"}
        {"text": "The capital of Spain is", "answer": "Madrid"}
        """);

    [Fact]
    public void ModelDropoutTrainsTheModelInTrainingMode()
    {
        string model = CliRunner.Gpt2Random, data = GenerationData();
        double FirstLoss(string name, params string[] extra)
        {
            string output = Path.Combine(_dir, name);
            var run = CliRunner.Run([.. new[] { "train", "--model", model, "--method", "prompt", "--virtual-tokens", "4", "--train", data,
                "--template", "{soft:4}{text}{answer}", "--out", output, "--max-steps", "1", "--batch-size", "3" }, .. extra]);
            Assert.True(run.Code == 0, run.Err + run.Out);
            return Tuning.Reporting.TrainingLog.Read(Path.Combine(output, "train_log.jsonl")).First(r => r.Loss is not null).Loss!.Value;
        }
        double plain = FirstLoss("plain"), again = FirstLoss("again"), dropout = FirstLoss("dropout", "--model-dropout");
        Assert.Equal(plain, again);        // evaluation mode by default: the same loss
        Assert.NotEqual(plain, dropout);   // the config's dropouts act on the first step's forward
    }

    [Fact]
    public void TrainThenEvalInspectAndGenerateWithTheAdapter()
    {
        string model = CliRunner.Gpt2Random, data = GenerationData(), output = Path.Combine(_dir, "out");
        var train = CliRunner.Run("train", "--model", model, "--method", "prompt", "--virtual-tokens", "4", "--train", data, "--eval", data,
            "--template", "{soft:4}{text}{answer}", "--out", output, "--max-steps", "6", "--batch-size", "3");
        Assert.True(train.Code == 0, train.Err + train.Out);
        foreach (var f in new[] { "adapter_config.json", "adapter_model.safetensors", "softprompt.json", "train_log.jsonl", "curves.svg", "checkpoint/trainer_state.json" })
            Assert.True(File.Exists(Path.Combine(output, f)), $"{f} missing");

        var eval = CliRunner.Run("eval", "--model", model, "--adapter", output, "--data", data, "--json", "--max-new-tokens", "3");
        Assert.True(eval.Code == 0, eval.Err);
        using var e = JsonDocument.Parse(eval.Out);
        Assert.Equal(3, e.RootElement.GetProperty("examples").GetInt32());
        Assert.True(e.RootElement.GetProperty("metrics").TryGetProperty("token_f1", out _));
        Assert.Equal(3, e.RootElement.GetProperty("predictions").GetArrayLength());

        var inspect = CliRunner.Run("inspect", output, "--model", model, "--json", "--nearest", "3");
        Assert.True(inspect.Code == 0, inspect.Err);
        using var i = JsonDocument.Parse(inspect.Out);
        Assert.Equal("PROMPT_TUNING", i.RootElement.GetProperty("adapter_config").GetProperty("peft_type").GetString());
        Assert.Equal(4 * 16, i.RootElement.GetProperty("trainable_parameters").GetInt64());
        var near = i.RootElement.GetProperty("nearest_tokens");
        Assert.Equal(4, near.GetArrayLength());
        Assert.All(near.EnumerateArray(), list => Assert.Equal(3, list.GetArrayLength()));

        var gen = CliRunner.Run("generate", "--model", model, "--adapter", output, "--prompt", "The capital of Peru is", "--max-new-tokens", "3", "--json");
        Assert.True(gen.Code == 0, gen.Err);
        using var g = JsonDocument.Parse(gen.Out);
        Assert.Equal(0, g.RootElement.GetProperty("prompt_ids")[0].GetInt32());   // the template's soft slots come first (placeholder ids)
    }

    [Fact]
    public void NoEmbeddingDecaySparesTheEmbeddingsOfAFullFineTuning()
    {
        string model = CliRunner.Gpt2Random, data = GenerationData();
        bool SavedDecayEmbeddings(string name, params string[] extra)
        {
            string output = Path.Combine(_dir, name);
            var run = CliRunner.Run([.. new[] { "train", "--model", model, "--method", "full", "--train", data, "--out", output,
                "--max-steps", "1", "--weight-decay", "0.1" }, .. extra]);
            Assert.True(run.Code == 0, run.Err + run.Out);
            using var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "softprompt.json")));
            return j.RootElement.GetProperty("settings").GetProperty("DecayEmbeddings").GetBoolean();
        }
        Assert.True(SavedDecayEmbeddings("trainer-rule"));
        Assert.False(SavedDecayEmbeddings("mingpt-rule", "--no-embedding-decay"));

        var wrongMethod = CliRunner.Run("train", "--model", model, "--method", "prompt", "--train", data, "--out", Path.Combine(_dir, "prompt"),
            "--max-steps", "1", "--no-embedding-decay");
        Assert.NotEqual(0, wrongMethod.Code);
        Assert.Contains("--no-embedding-decay", wrongMethod.Err);
        Assert.DoesNotContain("   at ", wrongMethod.Err);
    }

    [Fact]
    public void AnalyzeAttentionOfAPrefixAdapterFindsNoDirectChange()
    {
        string model = CliRunner.Gpt2Random, data = GenerationData(), adapter = Path.Combine(_dir, "prefix"), report = Path.Combine(_dir, "report");
        var train = CliRunner.Run("train", "--model", model, "--method", "prefix", "--virtual-tokens", "3", "--encoder-hidden", "16", "--train", data,
            "--out", adapter, "--max-steps", "3");
        Assert.True(train.Code == 0, train.Err);
        var run = CliRunner.Run("analyze", "attention", "--model", model, "--adapter", adapter, "--data", data, "--out", report);
        Assert.True(run.Code == 0, run.Err);
        using var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "attention_shift.json")));
        Assert.True(j.RootElement.GetProperty("max_direct_change").GetDouble() < 1e-5);
        Assert.Equal(2, j.RootElement.GetProperty("heads").GetArrayLength());   // 1 layer × 2 heads
        Assert.Contains("only biases attention outputs", j.RootElement.GetProperty("verdict").GetString());
        Assert.True(File.Exists(Path.Combine(report, "attention_shift.md")));
        System.Xml.Linq.XDocument.Load(Path.Combine(report, "attention_shift.svg"));   // well-formed
    }

    [Fact]
    public void BadInputIsAOneLineErrorAndTheSavedAdapterSurvives()
    {
        string model = CliRunner.Gpt2Random, data = GenerationData(), output = Path.Combine(_dir, "out");
        Assert.Equal(0, CliRunner.Run("train", "--model", model, "--method", "prompt", "--virtual-tokens", "2", "--train", data, "--out", output, "--max-steps", "2").Code);
        byte[] saved = File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors"));

        var unknownField = CliRunner.Run("train", "--model", model, "--method", "prompt", "--virtual-tokens", "2", "--train", data, "--out", output,
            "--template", "{soft:2}{question}{answer}");
        Assert.Equal(1, unknownField.Code);
        Assert.Contains("question", unknownField.Err);
        Assert.Contains("train.jsonl:1", unknownField.Err);

        var labels = Write("labels.jsonl", """{"text": "good film", "answer": "positive"}""" + "\n" + """{"text": "bad film", "answer": "neutral"}""");
        var missingLabel = CliRunner.Run("train", "--model", model, "--method", "lora", "--train", labels, "--out", output, "--verbalizer", "positive=great,negative=terrible");
        Assert.Equal(1, missingLabel.Code);
        Assert.Contains("neutral", missingLabel.Err);

        var empty = CliRunner.Run("train", "--model", model, "--method", "prompt", "--train", Write("empty.jsonl", ""), "--out", output);
        Assert.Equal(1, empty.Code);
        Assert.Contains("empty.jsonl", empty.Err);

        var wrongMethod = CliRunner.Run("train", "--model", model, "--method", "adapterx", "--train", data, "--out", output);
        Assert.Equal(1, wrongMethod.Code);
        Assert.Contains("'adapterx'", wrongMethod.Err);

        Assert.Equal(saved, File.ReadAllBytes(Path.Combine(output, "adapter_model.safetensors")));
        foreach (var err in new[] { unknownField.Err, missingLabel.Err, empty.Err, wrongMethod.Err })
            Assert.Single(err.Trim().Split('\n'));
    }
}
