using SoftPrompt.Experiments.MetaL;
using SoftPrompt.Experiments.Petrov;

namespace SoftPrompt.Experiments.Tests.MetaL;

/// <summary>The MetaL-Prompt report, shrunken (a 1-layer target, two meta-training steps a PGM), end to end: every row, both test sets, the files.</summary>
public sealed class MetalWorldExperimentTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-metal-world-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void EveryRowOfTheReportRunsAndTheTokenCountsAreThePromptsAndTheText()
    {
        var run = new IclPretrainer(new MinGptConfig(1, 2, 16, SymbolWorld.VocabSize, MaxPositions: 128, Dropout: 0f, TiedHead: true), new IclPretrainOptions(Steps: 3, BatchSize: 2, Shots: 4));
        for (int i = 0; i < 3; i++) run.TrainStep();
        string target = Path.Combine(_dir, "target");
        SymbolWorldTarget.Export(run, target);

        var rows = MetalWorldExperiment.Run(target, Path.Combine(_dir, "report"), MetalWorldScale.Test);
        Assert.Equal(2 + 2 + 8 + 1, rows.Count);   // zero-shot, ICL, prompt tuning, P-tuning, 4 designs × 2 X_L settings, refinement
        Assert.All(rows, r => { Assert.InRange(r.ExactMatch, 0, 100); Assert.InRange(r.HeldOutExactMatch, 0, 100); });
        var zero = rows.Single(r => r.Method == "zero-shot");
        var icl = rows.Single(r => r.Method.StartsWith("in-context"));
        var generated = rows.Single(r => r.Method == "MetaL-Prompt, hidden-state, X_L empty");
        var prefix = rows.Single(r => r.Method == "MetaL-Prompt, prefix, X_L empty");
        Assert.Equal(7, zero.TokensPerRequest);                           // "abcde> "
        Assert.Equal(7 + 4 * 13, icl.TokensPerRequest);                    // 4 demonstrations "abcde> aFbGcHdIeJ|" (13 tokens) before it
        Assert.Equal(7 + 2, generated.TokensPerRequest);                  // M = 2 soft tokens
        Assert.Equal(7 + 2, prefix.TokensPerRequest);                     // a prefix of 2 positions
        Assert.Equal(7 + 2 + 2 * 13, rows.Single(r => r.Method == "MetaL-Prompt, hidden-state, X_L = 2 demonstrations").TokensPerRequest);
        Assert.True(generated.PromptSeconds > 0 && zero.PromptSeconds == 0);
        Assert.True(File.Exists(Path.Combine(_dir, "report", "metal-results.md")) && File.Exists(Path.Combine(_dir, "report", "metal-results.json")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "report", "scratch")));

        // --pgm: one of those PGMs reported on its own scores what it scored in the report, beside the same baselines
        var alone = MetalWorldExperiment.EvaluatePgm(target, Path.Combine(_dir, "report", "pgm-prefix-xl0"), Path.Combine(_dir, "report"), MetalWorldScale.Test);
        Assert.Equal(3, alone.Count);
        Assert.Equal((zero.ExactMatch, zero.HeldOutExactMatch, zero.TokensPerRequest), (alone[0].ExactMatch, alone[0].HeldOutExactMatch, alone[0].TokensPerRequest));
        Assert.Equal((icl.ExactMatch, icl.HeldOutExactMatch, icl.TokensPerRequest), (alone[1].ExactMatch, alone[1].HeldOutExactMatch, alone[1].TokensPerRequest));
        Assert.StartsWith("MetaL-Prompt, prefix, X_L empty", alone[2].Method);
        Assert.Equal((prefix.ExactMatch, prefix.HeldOutExactMatch, prefix.TokensPerRequest), (alone[2].ExactMatch, alone[2].HeldOutExactMatch, alone[2].TokensPerRequest));
        Assert.True(File.Exists(Path.Combine(_dir, "report", "metal-pgm-results.md")));

        // A stopped report goes on from the rows it measured: with the file cut after 5 rows and a sixth cut short (a kill
        // mid-write), the rerun measures the other rows — the PGMs resume at their last step — and agrees with the first run.
        string rowsFile = Path.Combine(_dir, "report", "report-rows.jsonl");
        var lines = File.ReadAllLines(rowsFile);
        Assert.Equal(rows.Count, lines.Length);
        File.WriteAllText(rowsFile, string.Join("\n", lines.Take(5)) + "\n" + lines[5][..20]);
        var again = MetalWorldExperiment.Run(target, Path.Combine(_dir, "report"), MetalWorldScale.Test);
        Assert.Equal(rows.Select(r => (r.Method, r.ExactMatch, r.HeldOutExactMatch, r.TokensPerRequest)), again.Select(r => (r.Method, r.ExactMatch, r.HeldOutExactMatch, r.TokensPerRequest)));
        Assert.Equal(rows.Take(4).Select(r => r.PromptSeconds), again.Take(4).Select(r => r.PromptSeconds));   // taken from the file, not measured again
        Assert.Equal(rows.Count, File.ReadAllLines(rowsFile).Count(l => l.EndsWith('}')));
    }

    [Fact]
    public void ARowChosenPerSeedNamesEachSeedsChoice()
    {
        Assert.Equal("zero-shot", MetalWorldExperiment.SeedsMethod(["zero-shot", "zero-shot", "zero-shot"]));
        Assert.Equal("MetaL-Prompt, per seed: hidden-state / prefix / prefix, X_L empty, + 50 steps of prompt tuning", MetalWorldExperiment.SeedsMethod([
            "MetaL-Prompt, hidden-state, X_L empty, + 50 steps of prompt tuning",
            "MetaL-Prompt, prefix, X_L empty, + 50 steps of prompt tuning",
            "MetaL-Prompt, prefix, X_L empty, + 50 steps of prompt tuning"]));
    }

    [Fact]
    public void TasksOnlyWritesTheCollectionByTaskAndTheSameOneTwice()
    {
        string a = MetalWorldExperiment.WriteTasks(Path.Combine(_dir, "a"), MetalWorldScale.Test);
        string b = MetalWorldExperiment.WriteTasks(Path.Combine(_dir, "b"), MetalWorldScale.Test);
        foreach (var (split, count) in new[] { ("train", 6), ("validation", 2), ("test", 2), ("test-heldout", 2) })
        {
            var files = Directory.GetFiles(Path.Combine(a, split), "*.jsonl").Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(count, files.Length);
            foreach (var f in files) Assert.Equal(File.ReadAllText(f), File.ReadAllText(Path.Combine(b, split, Path.GetFileName(f))));
        }
        var trainNames = Directory.GetFiles(Path.Combine(a, "train"), "*.jsonl").Select(Path.GetFileName).ToHashSet();
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(a, "test"), "*.jsonl").Select(Path.GetFileName), trainNames.Contains);
        // a rule's name spells its images: the held-out family (a→A) starts with 'a', and meta-training never has one
        Assert.All(Directory.GetFiles(Path.Combine(a, "test-heldout"), "*.jsonl"), f => Assert.StartsWith("a", Path.GetFileName(f)));
        foreach (var split in new[] { "train", "validation", "test" })
            Assert.All(Directory.GetFiles(Path.Combine(a, split), "*.jsonl"), f => Assert.False(Path.GetFileName(f).StartsWith('a'), $"{split}/{Path.GetFileName(f)}"));
        // a collection of another scale (or an earlier world) in the folder is replaced, not reused
        File.WriteAllText(Path.Combine(a, SymbolWorldTasks.StampFile), "merging 6 2 2 2 12\n");
        File.WriteAllText(Path.Combine(a, "train", "stale.jsonl"), "{}");
        MetalWorldExperiment.WriteTasks(Path.Combine(_dir, "a"), MetalWorldScale.Test);
        Assert.False(File.Exists(Path.Combine(a, "train", "stale.jsonl")));
        Assert.Equal(Directory.GetFiles(Path.Combine(b, "train")).Select(Path.GetFileName).Order(), Directory.GetFiles(Path.Combine(a, "train")).Select(Path.GetFileName).Order());
    }
}
