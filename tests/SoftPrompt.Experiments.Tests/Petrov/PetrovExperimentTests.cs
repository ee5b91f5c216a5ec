using SoftPrompt.Experiments.Petrov;

namespace SoftPrompt.Experiments.Tests.Petrov;

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
        // The exported model carries the digit tokenizer, so every command that reads a checkpoint's tokenizer takes it.
        string exported = Path.Combine(Directory.GetDirectories(_dir, "pretrain-*").Single(), "model");
        Assert.Equal([0, 9, 3], SoftPrompt.Tokenizers.Tokenizer.FromDirectory(exported).Encode("0 93"));

        // Running again finds the pretrained model and does not pretrain again.
        lines.Clear();
        new PetrovExperiment(setup, _dir, fullScale: false, testItems: 16, log: lines.Add).Run();
        Assert.DoesNotContain(lines, l => l.StartsWith("pretraining setup"));
    }

    /// <summary>Setups 2–4 shrunk to a few steps: every phase kind (several prefix seeds, the accuracy curve, rank-1 LoRA) runs and reports.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void AShrunkenSetupRunsEveryPhase(int number)
    {
        var full = PetrovSetup.For(number);
        var setup = full with
        {
            PretrainSteps = 10,
            Phases = [.. full.Phases.Select(p => p with { Steps = 4, Seeds = Math.Min(p.Seeds, 2), CurvePoints = p.CurvePoints > 0 ? 2 : 0 })],
        };
        var results = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8).Run();
        Assert.Equal(setup.PretrainEval.Count + setup.Phases.Sum(p => p.EvalTasks.Count), results.Count);
        foreach (var phase in setup.Phases)
        {
            var r = results.First(x => x.Phase == phase.Name);
            long expected = phase.Kind == AdaptationKind.Lora
                ? setup.Model.Layers * (2L * (setup.Model.Dim + setup.Model.MlpDim) + 2 * setup.Model.Dim)   // rank 1 on mlp.c_fc, mlp.c_proj, attn.c_proj
                : (long)setup.Model.Layers * phase.PrefixLength * setup.Model.Dim;
            Assert.Equal(expected, r.Parameters);
            if (phase.Kind == AdaptationKind.Prefix) Assert.True(r.DirectChange < 1e-5, $"{phase.Name}: direct change {r.DirectChange}");
            if (phase.CurvePoints > 0)
                Assert.True(File.Exists(Path.Combine(_dir, $"setup{number}-{new string([.. phase.Name.Select(c => char.IsLetterOrDigit(c) ? c : '-')])}-curve.svg")), $"{phase.Name}: no curve");
        }
        if (number == 4) Assert.Equal(12_288, results.Single(r => r.Phase.StartsWith("rank-1 LoRA")).Parameters);   // as many as the prefix, as in the paper
        Assert.Contains($"# Petrov et al. setup {number}", File.ReadAllText(Path.Combine(_dir, $"setup{number}-results.md")));
    }

    /// <summary>The phases longer than a session measure their curve every 5,000 steps at full scale, so a run stopped part-way has one.</summary>
    [Fact]
    public void LongFullScalePhasesMeasureTheirCurveEveryFiveThousandSteps()
    {
        var composition = PetrovSetup.For(3).Phases.Single(p => p.Name == "prefix on ascending then +1");
        var histogram4 = PetrovSetup.For(4).Phases.Single(p => p.Name == "prefix on histogram");
        var lora = PetrovSetup.For(4).Phases.Single(p => p.Kind == AdaptationKind.Lora);
        Assert.Equal((5_000, 83), (composition.CurveEvery(fullScale: true), composition.CurveEvery(fullScale: false)));   // 500,000 / 100; 1,000 / 12
        Assert.Equal((5_000, 200), (histogram4.CurveEvery(true), histogram4.CurveEvery(false)));
        Assert.Equal((1_000, 300), (lora.CurveEvery(true), lora.CurveEvery(false)));   // no full-scale count of its own: its 10 points
        Assert.Equal(0, PetrovSetup.For(1).Phases[0].CurveEvery(true));
    }

    /// <summary>Every shipped model's tokenizer.json is the one the export writes (DigitTokenizerJson), compared as JSON.</summary>
    [Fact]
    public void TheShippedModelsCarryTheDigitTokenizer()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "SoftPrompt.sln"))) root = root.Parent!;
        var expected = System.Text.Json.Nodes.JsonNode.Parse(DigitTokenizerJson.Text);
        var dirs = Directory.GetDirectories(Path.Combine(root.FullName, "models", "petrov"));
        Assert.Equal(4, dirs.Length);
        foreach (var dir in dirs)
            Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(expected, System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, DigitTokenizerJson.FileName)))), dir);
    }

    /// <summary>A shipped model is used only by a scale its recorded pretraining steps cover; otherwise the runner pretrains.</summary>
    [Fact]
    public void AShippedModelServesOnlyTheScalesItsPretrainingCovers()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "SoftPrompt.sln"))) root = root.Parent!;
        string source = Path.Combine(root.FullName, "models", "petrov", "L1-H1-d96-pad1-ascending"), shipped = Path.Combine(_dir, "shipped");
        Directory.CreateDirectory(Path.Combine(shipped, "L1-H1-d96-pad1-ascending"));
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(source, f), Path.Combine(shipped, "L1-H1-d96-pad1-ascending", f));
        string config = Path.Combine(shipped, "L1-H1-d96-pad1-ascending", "config.json");
        var setup = PetrovSetup.For(1) with { PretrainSteps = 5, Phases = [] };

        File.WriteAllText(config, File.ReadAllText(config).Replace("\"softprompt_pretrain_steps\": 20000", "\"softprompt_pretrain_steps\": 4"));
        var lines = new List<string>();
        var results = new PetrovExperiment(setup, Path.Combine(_dir, "a"), fullScale: false, shipped, testItems: 8, log: lines.Add).Run();
        Assert.Contains(lines, l => l.Contains("had 4 pretraining steps, fewer than this scale's 5"));
        Assert.Equal(5, results[0].Steps);

        File.WriteAllText(config, File.ReadAllText(config).Replace("\"softprompt_pretrain_steps\": 4", "\"softprompt_pretrain_steps\": 20000"));
        lines.Clear();
        results = new PetrovExperiment(setup, Path.Combine(_dir, "b"), fullScale: false, shipped, testItems: 8, log: lines.Add).Run();
        Assert.Contains(lines, l => l.StartsWith("pretraining skipped", StringComparison.Ordinal));
        Assert.Equal("pretrained (shipped)", results[0].Phase);
        Assert.Equal(20_000, results[0].Steps);
    }

    /// <summary>
    /// Pretraining interrupted between checkpoints resumes from the last one: its log then lists every step once, with the
    /// losses of an uninterrupted run, and the exported model is the same bit for bit.
    /// </summary>
    [Fact]
    public void InterruptedPretrainingResumesAndLogsEachStepOnce()
    {
        var setup = PetrovSetup.For(1) with { PretrainSteps = 400, Phases = [] };
        string whole = Path.Combine(_dir, "whole"), split = Path.Combine(_dir, "split");
        new PetrovExperiment(setup, whole, fullScale: false, testItems: 8) { PretrainCheckpointEvery = 200 }.Run();

        using var stop = new CancellationTokenSource();
        void Log(string line) { if (line.Contains("step 300/400")) stop.Cancel(); }   // logged past the checkpoint at 200
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new PetrovExperiment(setup, split, fullScale: false, testItems: 8, log: Log) { PretrainCheckpointEvery = 200 }.Run(cancellationToken: stop.Token));
        new PetrovExperiment(setup, split, fullScale: false, testItems: 8) { PretrainCheckpointEvery = 200 }.Run();

        string pretrain = Directory.GetDirectories(whole, "pretrain-*").Single();
        string log = Path.Combine("pretrain_log.jsonl"), model = Path.Combine("model", "model.safetensors");
        var expected = Tuning.Reporting.TrainingLog.Read(Path.Combine(pretrain, log));
        var got = Tuning.Reporting.TrainingLog.Read(Path.Combine(split, Path.GetFileName(pretrain), log));
        Assert.Equal([100L, 200, 300, 400], got.Select(r => r.Step));
        Assert.Equal(expected.Select(r => r.Loss), got.Select(r => r.Loss));
        Assert.Equal(File.ReadAllBytes(Path.Combine(pretrain, model)), File.ReadAllBytes(Path.Combine(split, Path.GetFileName(pretrain), model)));
    }

    /// <summary>
    /// An adaptation phase interrupted after a checkpoint continues from it when rerun with the same settings and ends with
    /// the adapter an uninterrupted run gives, bit for bit; a rerun with other settings starts afresh.
    /// </summary>
    [Fact]
    public void AnInterruptedPhaseResumesFromItsCheckpoint()
    {
        var full = PetrovSetup.For(1);
        var setup = full with { PretrainSteps = 20, Phases = [full.Phases.Single(p => p.Kind == AdaptationKind.Prefix) with { Steps = 300 }] };
        string whole = Path.Combine(_dir, "whole"), split = Path.Combine(_dir, "split"), adapter = Path.Combine("setup1", "prefix-on-descending", "adapter_model.safetensors");
        var uninterrupted = new PetrovExperiment(setup, whole, fullScale: false, testItems: 8) { PhaseCheckpointEvery = 50 }.Run();

        using var stop = new CancellationTokenSource();
        var lines = new List<string>();
        void Log(string line) { lines.Add(line); if (line.Contains("step 100/300")) stop.Cancel(); }   // the phase's checkpoint at step 100 is then saved, and the next step stops
        Assert.ThrowsAny<OperationCanceledException>(() => new PetrovExperiment(setup, split, fullScale: false, testItems: 8, log: Log) { PhaseCheckpointEvery = 50 }.Run(cancellationToken: stop.Token));
        Assert.False(File.Exists(Path.Combine(split, adapter)));

        lines.Clear();
        var resumed = new PetrovExperiment(setup, split, fullScale: false, testItems: 8, log: lines.Add) { PhaseCheckpointEvery = 50 }.Run();
        Assert.Contains(lines, l => l.StartsWith("prefix on descending: resuming from step 100 of 300", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("begun by build"));   // the same build both times
        var sessions = File.ReadAllLines(Path.Combine(split, "setup1", "prefix-on-descending", "sessions.jsonl"));
        Assert.Equal(2, sessions.Length);
        Assert.Contains("\"from_step\":0,", sessions[0]);
        Assert.Contains("\"from_step\":100,", sessions[1]);
        Assert.Contains($"\"build\":\"{PhaseRun.Build}\"", sessions[1]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, adapter)), File.ReadAllBytes(Path.Combine(split, adapter)));
        Assert.Equal(uninterrupted.Select(r => r.Accuracy), resumed.Select(r => r.Accuracy));
        // The phase's closing line gives the training time of both runs, as its report row does.
        Assert.Contains(lines, l => l.StartsWith("prefix on descending: ", StringComparison.Ordinal) && l.Contains("% (", StringComparison.Ordinal)
                                    && l.Contains($"({resumed.First(r => r.Phase == "prefix on descending").Seconds:F0} s of training in all; this run ", StringComparison.Ordinal));

        // Other settings (here the steps) are another run: the directory is emptied and the phase starts at step 0.
        lines.Clear();
        var longer = setup with { Phases = [setup.Phases[0] with { Steps = 310 }] };
        new PetrovExperiment(longer, split, fullScale: false, testItems: 8, log: lines.Add) { PhaseCheckpointEvery = 50 }.Run();
        Assert.DoesNotContain(lines, l => l.Contains("resuming"));
        Assert.Contains("\"steps\": 310", File.ReadAllText(Path.Combine(split, "setup1", "prefix-on-descending", "phase.json")));
    }

    /// <summary>
    /// A finished phase keeps its figure in result.json, which --status gives; a rerun only evaluates it again, and is not counted
    /// as a session that trained (builds before 2026-12-02 logged one: those lines, from the last step, are not counted either).
    /// </summary>
    [Fact]
    public void AFinishedPhaseKeepsItsFigureAndARerunIsNotASession()
    {
        var full = PetrovSetup.For(1);
        var setup = full with { PretrainSteps = 20, Phases = [full.Phases.Single(p => p.Kind == AdaptationKind.Prefix) with { Steps = 60 }] };
        string folder = Path.Combine(_dir, "setup1", "prefix-on-descending"), sessions = Path.Combine(folder, "sessions.jsonl");
        var first = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8) { PhaseCheckpointEvery = 50 }.Run();
        double accuracy = first.Single(r => r.Phase == "prefix on descending").Accuracy;
        var result = PhaseRun.ReadResult(folder)!;
        Assert.Equal((60L, 8), (result.Step, result.TestItems));
        Assert.Equal(accuracy, result.ExactMatch["descending"]);
        Assert.Single(File.ReadAllLines(sessions));

        var lines = new List<string>();
        var again = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8, log: lines.Add) { PhaseCheckpointEvery = 50 }.Run();
        Assert.Contains(lines, l => l.StartsWith("prefix on descending: trained to step 60 of 60 before", StringComparison.Ordinal));
        Assert.Equal(accuracy, again.Single(r => r.Phase == "prefix on descending").Accuracy);
        Assert.Single(File.ReadAllLines(sessions));

        File.AppendAllText(sessions, "{\"started\":\"2026-12-01T11:09:54Z\",\"from_step\":60,\"build\":\"older\"}\n");   // what an older build wrote on a rerun
        var stage = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8).Progress().Single(s => s.Stage == "prefix on descending");
        Assert.True(stage.Done);
        Assert.Equal(1, stage.Sessions);
        Assert.Equal((accuracy, 8), (stage.FinalExactMatch, stage.FinalTestItems));

        // A result measured at another step than the checkpoint's is not this checkpoint's figure.
        PhaseRun.WriteResult(folder, 50, 8, new Dictionary<string, double> { ["descending"] = 1 }, 1);
        Assert.Null(new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8).Progress().Single(s => s.Stage == "prefix on descending").FinalExactMatch);
        File.WriteAllText(Path.Combine(folder, "result.json"), "{\"step\": 60}");
        var error = Assert.ThrowsAny<Exception>(() => PhaseRun.ReadResult(folder));
        Assert.Contains("result.json", error.Message);
    }

    /// <summary>A phase stopped at a step is reported in progress with the steps it reached; a rerun continues it to its count.</summary>
    [Fact]
    public void APhaseStoppedAtAStepIsReportedInProgressAndContinues()
    {
        var full = PetrovSetup.For(1);
        var setup = full with { PretrainSteps = 20, Phases = [full.Phases.Single(p => p.Kind == AdaptationKind.Prefix) with { Steps = 60 }] };
        var partial = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8) { PhaseCheckpointEvery = 50, StopAtStep = 25 }.Run();
        var row = partial.Single(r => r.Phase == "prefix on descending");
        Assert.True(row.InProgress);
        Assert.Equal(25, row.Steps);
        Assert.Contains("prefix on descending: in progress — stopped at step 25 of 60", File.ReadAllText(Path.Combine(_dir, "setup1-results.md")));
        // Another phase run into the same folder keeps the stopped phase's row, still in progress.
        new PetrovExperiment(setup with { Phases = [full.Phases.Single(p => p.Kind == AdaptationKind.FullFineTuning) with { Steps = 3 }] }, _dir, fullScale: false, testItems: 8).Run();
        Assert.Contains("prefix on descending: in progress — stopped at step 25 of 60", File.ReadAllText(Path.Combine(_dir, "setup1-results.md")));

        var lines = new List<string>();
        var done = new PetrovExperiment(setup, _dir, fullScale: false, testItems: 8, log: lines.Add) { PhaseCheckpointEvery = 50 }.Run();
        Assert.Contains(lines, l => l.StartsWith("prefix on descending: resuming from step 25 of 60", StringComparison.Ordinal));
        row = done.Single(r => r.Phase == "prefix on descending");
        Assert.False(row.InProgress);
        Assert.Equal(60, row.Steps);
        Assert.DoesNotContain("in progress", File.ReadAllText(Path.Combine(_dir, "setup1-results.md")));
    }

    /// <summary>Phases run one at a time into one directory add up to one report, in the setup's order; a report measured otherwise is not mixed in.</summary>
    [Fact]
    public void PhasesRunSeparatelyAddUpToOneReport()
    {
        var full = PetrovSetup.For(1);
        var setup = full with { PretrainSteps = 20, Phases = [.. full.Phases.Select(p => p with { Steps = 5 })] };
        string md = Path.Combine(_dir, "setup1-results.md");
        new PetrovExperiment(setup with { Phases = [setup.Phases[1]] }, _dir, fullScale: false, testItems: 8).Run();   // the prefix first
        var lines = new List<string>();
        var second = new PetrovExperiment(setup with { Phases = [setup.Phases[0]] }, _dir, fullScale: false, testItems: 8, log: lines.Add).Run();
        Assert.DoesNotContain(second, r => r.Phase.StartsWith("prefix", StringComparison.Ordinal));   // Run returns its own rows
        Assert.Contains(lines, l => l.StartsWith("the report keeps 1 phase(s)", StringComparison.Ordinal));
        string report = File.ReadAllText(md);
        int fineTune = report.IndexOf("| fine-tune on descending |", StringComparison.Ordinal), prefix = report.IndexOf("| prefix on descending |", StringComparison.Ordinal);
        Assert.True(fineTune > 0 && prefix > fineTune, report);   // both, in the setup's order
        Assert.Contains("| 1.0e-2 |", report);   // the kept prefix row keeps its learning rate (5e-5 × 40,000 / 5 steps, capped at 1e-2)

        // Another test-item count measures differently: the earlier rows are dropped.
        new PetrovExperiment(setup with { Phases = [setup.Phases[0]] }, _dir, fullScale: false, testItems: 16).Run();
        Assert.DoesNotContain("| prefix on descending |", File.ReadAllText(md));
    }
}
