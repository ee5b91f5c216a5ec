namespace SoftPrompt.Cli.Tests;

/// <summary>Bad options of the experiment command fail at once, in one line naming the option and the value, before any work.</summary>
public sealed class ExperimentCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-experiment-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Theory]
    [InlineData("--test-items", "0", "--test-items 0: must be at least 1")]
    [InlineData("--scale", "huge", "--scale 'huge': small or full")]
    [InlineData("--phases", "nothing", "--phases 'nothing': no phase of setup 1 matches")]
    [InlineData("--steps", "0", "--steps 0: must be at least 1")]
    [InlineData("--stop-at-step", "0", "--stop-at-step 0: must be at least 1")]
    public void BadOptionsAreOneLineErrorsNamingTheValue(string option, string value, string message)
    {
        var (code, stdout, stderr) = CliRunner.Run("experiment", "petrov", "--setup", "1", option, value, "--out", Path.Combine(_dir, "run"));
        Assert.NotEqual(0, code);
        Assert.Contains(message, stderr + stdout);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run")), "nothing is written for a rejected command line");
    }

    [Fact]
    public void StepsSetTheSelectedPhasesStepCountInTheReportAndStopAtStepEndsARunThatARerunContinues()
    {
        string run = Path.Combine(_dir, "run");
        var (code, stdout, stderr) = CliRunner.Run("experiment", "petrov", "--setup", "1", "--phases", "prefix", "--steps", "5", "--stop-at-step", "3", "--test-items", "16", "--out", run);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("in progress: step 3", stdout);
        Assert.Contains("\"in_progress\": true", File.ReadAllText(Path.Combine(run, "setup1-results.json")));
        // --status reads how far the run came, trains nothing and writes nothing
        string[] status = ["experiment", "petrov", "--setup", "1", "--phases", "prefix", "--steps", "5", "--out", run, "--status"];
        var before = Directory.GetFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        (code, stdout, stderr) = CliRunner.Run(status);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("prefix on descending", stdout);
        Assert.Contains("3 / 5", stdout);
        Assert.Contains("shipped model", stdout);   // setup 1's pretraining is the shipped model's
        Assert.Equal(before, Directory.GetFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.GetLastWriteTimeUtc));
        (code, stdout, stderr) = CliRunner.Run([.. status[..7], "7", .. status[8..]]);   // other steps: the folder's run would not continue
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("0 / 7", stdout);
        Assert.Contains("holds another run", stdout);
        (code, stdout, stderr) = CliRunner.Run("experiment", "petrov", "--setup", "1", "--phases", "prefix", "--steps", "5", "--test-items", "16", "--out", run);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("resuming from step 3 of 5", stdout);
        (code, stdout, stderr) = CliRunner.Run(status);
        Assert.Contains("done (5)", stdout);
        using var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "setup1-results.json")));
        var rows = report.RootElement.GetProperty("results").EnumerateArray().ToArray();
        var prefix = Assert.Single(rows, r => r.GetProperty("phase").GetString() == "prefix on descending");
        Assert.Equal(5, prefix.GetProperty("steps").GetInt32());
        Assert.Equal(40_000, prefix.GetProperty("full_steps").GetInt32());
        Assert.DoesNotContain(rows, r => r.GetProperty("phase").GetString()!.StartsWith("fine-tune"));
        Assert.Equal(16, report.RootElement.GetProperty("test_items").GetInt32());
        // The finished phase's figure, as the run measured it on its test items (result.json in its folder).
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"exact match {prefix.GetProperty("accuracy").GetDouble():F1} % at step 5 (16 test items)"), stdout);
    }

    [Fact]
    public void StatusOfADirectoryThatDoesNotExistIsAnErrorNamingIt()
    {
        string missing = Path.Combine(_dir, "never-ran");
        var (code, stdout, stderr) = CliRunner.Run("experiment", "petrov", "--setup", "4", "--scale", "full", "--out", missing, "--status");
        Assert.NotEqual(0, code);
        Assert.Contains($"--out '{missing}': no such directory", stderr + stdout);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public void ARunIntoADirectoryAnotherRunHoldsIsRefusedAndLeavesItsFilesAlone()
    {
        string run = Path.Combine(_dir, "run"), kept = Path.Combine(run, "setup1-results.md");
        using (SoftPrompt.Tuning.Training.RunDirectoryLock.Acquire(run))
        {
            File.WriteAllText(kept, "kept");
            var (code, stdout, stderr) = CliRunner.Run("experiment", "petrov", "--setup", "1", "--phases", "prefix", "--steps", "5", "--test-items", "16", "--out", run, "--retrain");
            Assert.NotEqual(0, code);
            Assert.Contains($"error: {run}: another run is training into this directory", stderr);
            Assert.Equal("kept", File.ReadAllText(kept));
            Assert.Equal(new[] { kept, Path.Combine(run, ".softprompt.lock") }.Order(StringComparer.Ordinal), Directory.GetFileSystemEntries(run).Order(StringComparer.Ordinal));
            // --status only reads, so it works beside a running run
            (code, stdout, stderr) = CliRunner.Run("experiment", "petrov", "--setup", "1", "--out", run, "--status");
            Assert.True(code == 0, stderr + stdout);
        }
    }

    [Theory]
    [InlineData("experiment", "petrov", "--setup", "1")]
    [InlineData("quickstart")]
    public void AnOutputPathThatIsAFileIsRejected(params string[] command)
    {
        string file = Path.Combine(_dir, "results.txt");
        File.WriteAllText(file, "kept");
        var (code, stdout, stderr) = CliRunner.Run([.. command, "--out", file]);
        Assert.NotEqual(0, code);
        Assert.Contains($"--out '{file}' is a file", stderr + stdout);
        Assert.Equal("kept", File.ReadAllText(file));
    }
}
