using System.Text.Json;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Models.Architectures;

namespace SoftPrompt.Cli.Tests;

/// <summary>
/// `softprompt quickstart` end to end on the shipped setup-1 model, shortened (a few steps, few test items):
/// a test of the pipeline — tune, save, reload, evaluate, generate, diagnose — not of the figures.
/// </summary>
public sealed class QuickstartCommandTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), $"softprompt-quickstart-{Guid.NewGuid():N}");
    static readonly string Model = Path.Combine(CliRunner.RepoRoot, "models", "petrov", "L1-H1-d96-pad1-ascending");

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void TunesSavesEvaluatesGeneratesAndDiagnosesAPrefix()
    {
        var (code, stdout, stderr) = CliRunner.Run("quickstart", "--model", Model, "--task", "ascending", "--steps", "5", "--test-items", "16", "--out", _dir);   // ascending: the pretrained task, so the figures are not all 0
        Assert.True(code == 0, stderr + stdout);
        foreach (var step in new[] { "1. model", "2. tuning", "3. saved", "4. evaluated", "5. generated", "6. attention-shift diagnostic" })
            Assert.Contains(step, stdout);
        Assert.Contains("only biases attention outputs", stdout);
        Assert.Contains("seed 7:", stdout);   // three initialisations, the best on validation kept
        Assert.Contains("seed 9:", stdout);

        // The adapter on disk is a loadable attn-prefix of the model's width, one [1, 96] tensor per layer.
        var loaded = AdapterDirectory.Load(Path.Combine(_dir, "adapter"), ModelLoader.Load(Model));
        Assert.Equal(96, loaded.Method.TrainableParameters);
        using var shift = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "attention", "attention_shift.json")));
        Assert.True(shift.RootElement.GetProperty("max_direct_change").GetDouble() < 1e-5);   // the theorem, on the saved adapter
        Assert.True(File.Exists(Path.Combine(_dir, "attention", "attention_shift.svg")));
        string summary = File.ReadAllText(Path.Combine(_dir, "quickstart.md"));
        Assert.Contains("| the model alone |", summary);
        Assert.Equal(3, summary.Split('\n').Count(l => l.StartsWith("- `", StringComparison.Ordinal)));   // three generated examples

        // The suggested commands run on the shipped model (its digit tokenizer) and the saved adapter, and eval's exact
        // match over test.jsonl is the quickstart's own figure (not 0: the model was pretrained on ascending).
        Assert.Contains("7. next", stdout);
        Assert.Equal(16, File.ReadAllLines(Path.Combine(_dir, "test.jsonl")).Length);
        string adapted = summary.Split('\n').Single(l => l.StartsWith("| with the adapter |", StringComparison.Ordinal)).Split('|')[2].Trim().TrimEnd('%');
        var (evalCode, evalOut, evalErr) = CliRunner.Run("eval", "--model", Model, "--adapter", Path.Combine(_dir, "adapter"), "--data", Path.Combine(_dir, "test.jsonl"), "--max-new-tokens", "10", "--json");
        Assert.True(evalCode == 0, evalErr + evalOut);
        using var eval = JsonDocument.Parse(evalOut);
        Assert.True(double.Parse(adapted, System.Globalization.CultureInfo.InvariantCulture) > 0, summary);
        Assert.Equal(double.Parse(adapted, System.Globalization.CultureInfo.InvariantCulture), 100 * eval.RootElement.GetProperty("metrics").GetProperty("exact_match").GetDouble(), 1);
        var (genCode, genOut, genErr) = CliRunner.Run("generate", "--model", Model, "--adapter", Path.Combine(_dir, "adapter"), "--prompt", "3141", "--max-new-tokens", "10");
        Assert.True(genCode == 0, genErr + genOut);
        Assert.Matches("^[0-9]{10}$", genOut.Trim().Split('\n')[^1].Trim());
        var (anCode, anOut, anErr) = CliRunner.Run("analyze", "attention", "--model", Model, "--adapter", Path.Combine(_dir, "adapter"), "--data", Path.Combine(_dir, "test.jsonl"), "--out", Path.Combine(_dir, "again"));
        Assert.True(anCode == 0, anErr + anOut);
        Assert.Contains("only biases attention outputs", anOut);
    }

    [Theory]
    [InlineData("--task", "sideways", "Unknown task 'sideways'")]
    [InlineData("--method", "magic", "--method 'magic'")]
    [InlineData("--prefix-length", "0", "--prefix-length 0")]
    [InlineData("--seeds", "0", "--seeds 0")]
    [InlineData("--test-items", "0", "--test-items 0: must be at least 1")]
    public void BadOptionsAreOneLineErrorsNamingTheValue(string option, string value, string message)
    {
        var (code, stdout, stderr) = CliRunner.Run("quickstart", "--model", Model, option, value, "--out", _dir);
        Assert.NotEqual(0, code);
        Assert.Contains(message, stderr + stdout);
    }

    [Fact]
    public void AModelThatIsNotADigitModelIsRejectedByName()
    {
        var (code, stdout, stderr) = CliRunner.Run("quickstart", "--model", CliRunner.Gpt2Random, "--out", _dir);
        Assert.NotEqual(0, code);
        Assert.Contains("vocabulary 50257", stderr + stdout);
    }
}
