using System.Globalization;

namespace SoftPrompt.Cli.Tests;

/// <summary>
/// `softprompt quickstart --metal` end to end on the shipped symbol-world target and PGM (models/metal): a new task's
/// examples → one PGM pass → a stored adapter that generate reads, scored against zero-shot and in-context learning.
/// </summary>
public sealed class MetalQuickstartTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), $"softprompt-metal-quickstart-{Guid.NewGuid():N}");
    static readonly string Target = Path.Combine(CliRunner.RepoRoot, "models", "metal", "symbol-world-target");

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static double Figure(string summary, string row) =>
        double.Parse(summary.Split('\n').Single(l => l.StartsWith($"| {row}", StringComparison.Ordinal)).Split('|')[2].Trim().TrimEnd('%').Trim(), CultureInfo.InvariantCulture);

    [Fact]
    public void MakesAStoredPromptFromEightExamplesThatBeatsZeroShotAndServesARequest()
    {
        var (code, stdout, stderr) = CliRunner.Run("quickstart", "--metal", "--test-items", "64", "--out", _dir);
        Assert.True(code == 0, stderr + stdout);
        foreach (var step in new[] { "1. service", "2. task", "3. prompt", "4. evaluated", "5. request" })
            Assert.Contains(step, stdout);
        Assert.Equal(8, File.ReadAllLines(Path.Combine(_dir, "examples.jsonl")).Length);
        Assert.Equal(64, File.ReadAllLines(Path.Combine(_dir, "test.jsonl")).Length);
        string summary = File.ReadAllText(Path.Combine(_dir, "quickstart.md"));
        double zero = Figure(summary, "zero-shot"), stored = Figure(summary, "the stored MetaL-Prompt adapter");
        Assert.True(zero < 5 && stored > zero + 20, summary);   // a rule no training saw: the LM alone is at chance, the prompt carries the rule

        // The stored adapter serves a request with no PGM present: generate reads its template (prompt, then the input).
        string input = File.ReadAllLines(Path.Combine(_dir, "test.jsonl"))[0].Split('"')[3];
        var (genCode, genOut, genErr) = CliRunner.Run("generate", "--model", Target, "--adapter", Path.Combine(_dir, "adapter"), "--prompt", input, "--max-new-tokens", "6");   // the leading space, then 5 pairs
        Assert.True(genCode == 0, genErr + genOut);
        Assert.Matches("^([a-h][A-H]){5}$", genOut.Trim().Split('\n')[^1].Trim());
    }

    [Fact]
    public void APgmForAnotherModelIsAnErrorNamingIt()
    {
        var (code, stdout, stderr) = CliRunner.Run("quickstart", "--metal", "--model", Path.Combine(CliRunner.RepoRoot, "models", "petrov", "L1-H1-d96-pad1-ascending"), "--out", _dir);
        Assert.NotEqual(0, code);
        Assert.Contains("pgm_config.json", stderr + stdout);
    }
}
