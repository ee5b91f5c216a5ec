using SoftPrompt.Tuning.Experiments.Petrov;

namespace SoftPrompt.Tuning.Tests.Petrov;

/// <summary>The experiment runner end to end on a shrunken setup 1: pretraining, export, both adaptations, the report; a rerun resumes pretraining.</summary>
public sealed class PetrovExperimentTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-petrov-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void AShrunkenSetupOneRunsEndToEnd()
    {
        var full = PetrovSetup.For(1);
        var setup = full with
        {
            PretrainSteps = 300,
            Phases = [.. full.Phases.Select(p => p with { Steps = 20 })],
        };
        var lines = new List<string>();
        var results = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 64, log: lines.Add).Run();
        Assert.Equal(2 + 2 + 1, results.Count);   // pretrained ×2, fine-tune ×2, prefix ×1
        var ascending = results.Single(r => r.Phase == "pretrained" && r.EvaluatedOn == "ascending");
        Assert.True(ascending.Accuracy > 30, $"300 pretraining steps on ascending give {ascending.Accuracy}%");
        Assert.All(results, r => Assert.InRange(r.Accuracy, 0, 100));
        var prefix = results.Single(r => r.Phase.StartsWith("prefix"));
        Assert.Equal(96, prefix.Parameters);   // P = 1 × d = 96 × 1 layer
        Assert.True(prefix.DirectChange < 1e-5, $"a prefix cannot change the attention over the content (direct change {prefix.DirectChange})");
        Assert.True(results.First(r => r.Phase.StartsWith("fine-tune")).DirectChange > 1e-4, "fine-tuning does");
        Assert.True(File.Exists(Path.Combine(_dir, "setup1-results.md")));
        Assert.Contains("| prefix on descending |", File.ReadAllText(Path.Combine(_dir, "setup1-results.md")));

        // Running again finds the pretrained model and does not pretrain again.
        lines.Clear();
        new PetrovExperiment(setup, _dir, fullScale: false, testItems: 16, log: lines.Add).Run();
        Assert.DoesNotContain(lines, l => l.StartsWith("pretraining setup"));
    }
}
