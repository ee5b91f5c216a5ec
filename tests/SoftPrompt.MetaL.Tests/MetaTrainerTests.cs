using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Reporting;

namespace SoftPrompt.MetaL.Tests;

/// <summary>Meta-training: split by task, exact resume from a checkpoint, logs, the PGM directory and what it refuses.</summary>
public sealed class MetaTrainerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-metal-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static MetaTrainerOptions Options(int steps, int? stopAt = null) => new()
    {
        MaxSteps = steps, EpisodesPerStep = 2, PromptDemonstrations = 1, TextDemonstrations = 1, Queries = 2, LearningRate = 3e-3,   // fits GPT-2-tiny's 24 positions
        EvalEvery = 2, EvalEpisodes = 2, CheckpointEvery = 1, StopAtStep = stopAt, Seed = 3,
    };

    static PromptGenerator Pgm(PromptDesign design, Models.Architectures.ICausalLanguageModel model) =>
        new(new PgmConfig(design, PadTokens: 2, LoraRank: 2, PaddingHidden: 8), model, new Rng(11));

    [Theory]
    [InlineData("gpt2-tiny", PromptDesign.Discrete)]
    [InlineData("llama-tiny-gqa", PromptDesign.Prefix)]
    public void AResumedRunEndsWithTheSameParametersAsAnUninterruptedOne(string modelName, PromptDesign design)
    {
        var model = PgmGradientTests.Model(modelName);
        TestWorld.WriteTasks(Path.Combine(_dir, "tasks", "train"), 8, 12);
        TestWorld.WriteTasks(Path.Combine(_dir, "tasks", "validation"), 2, 12, seed: 2);
        var tasks = TaskCollection.Load(Path.Combine(_dir, "tasks"));
        Assert.Equal((8, 2, 0), (tasks.Train.Count, tasks.Validation.Count, tasks.Test.Count));
        var format = new EpisodeFormat();
        var straight = Pgm(design, model);
        new MetaTrainer(model, straight, tasks, new CharEncoder(), format, Options(4), Path.Combine(_dir, "a")).Train();

        var first = Pgm(design, model);
        new MetaTrainer(model, first, tasks, new CharEncoder(), format, Options(4, stopAt: 2), Path.Combine(_dir, "b")).Train();
        var resumed = Pgm(design, model);   // a new process: fresh parameters, everything from the checkpoint
        var result = new MetaTrainer(model, resumed, tasks, new CharEncoder(), format, Options(4), Path.Combine(_dir, "b")).Train();
        Assert.Equal(4, result.Steps);
        foreach (var ((name, a), (_, b)) in straight.NamedParameters().Zip(resumed.NamedParameters()))
            Assert.True(a.ToArray().AsSpan().SequenceEqual(b.ToArray()), $"{name} differs after resuming");
        var log = TrainingLog.Read(Path.Combine(_dir, "b", "train_log.jsonl"));
        Assert.Equal([1, 2, 3, 4], log.Where(r => r.Loss is not null).Select(r => r.Step));
        Assert.Equal([2, 4], log.Where(r => r.Get("eval_loss") is not null).Select(r => r.Step));
        Assert.True(File.Exists(Path.Combine(_dir, "b", PgmDirectory.WeightsFile)) && File.Exists(Path.Combine(_dir, "b", "curves.svg")));
        Assert.All(log.Where(r => r.Loss is not null), r => Assert.True(double.IsFinite(r.Loss!.Value)));
    }

    [Fact]
    public void TasksAreSplitByTaskNeverByExample()
    {
        var tasks = TaskCollection.Load(TestWorld.WriteTasks(Path.Combine(_dir, "tasks"), 40, 5));
        var names = tasks.Train.Concat(tasks.Validation).Concat(tasks.Test).Select(t => t.Name).ToArray();
        Assert.Equal(40, names.Distinct().Count());
        Assert.NotEmpty(tasks.Validation);
        Assert.NotEmpty(tasks.Test);
        Assert.All(tasks.Train.Concat(tasks.Validation).Concat(tasks.Test), t => Assert.Equal(5, t.Examples.Count));
        // the split of a task does not depend on the rest of the folder
        File.Delete(Path.Combine(_dir, "tasks", "shift00.jsonl"));
        var again = TaskCollection.Load(Path.Combine(_dir, "tasks"));
        Assert.Equal(tasks.Test.Select(t => t.Name).Where(n => n != "shift00"), again.Test.Select(t => t.Name));
    }

    [Fact]
    public void BadTaskFilesAreErrorsNamingFileLineAndField()
    {
        string dir = Path.Combine(_dir, "bad");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "t.jsonl"), ["{\"input\": \"ab\", \"output\": \"cd\"}", "{\"input\": \"ab\"}"]);
        var e = Assert.Throws<Tuning.Data.DataFormatException>(() => TaskCollection.Load(dir));
        Assert.Contains("t.jsonl:2", e.Message);
        Assert.Contains("'output'", e.Message);
        Assert.Throws<ArgumentException>(() => TaskCollection.Load(Path.Combine(_dir, "nowhere")));
    }

    [Fact]
    public void APgmLoadsOnlyForTheModelItWasMadeFor()
    {
        var gpt2 = PgmGradientTests.Model("gpt2-tiny");
        var pgm = Pgm(PromptDesign.WeightedSum, gpt2);
        PgmDirectory.Save(_dir, pgm, gpt2, new EpisodeFormat(" ->"), 3, 1);
        var (loaded, format, kp, kl) = PgmDirectory.Load(_dir, gpt2);
        Assert.Equal((" ->", 3, 1), (format.Separator, kp, kl));
        foreach (var ((name, a), (_, b)) in pgm.NamedParameters().Zip(loaded.NamedParameters())) Assert.Equal(a.ToArray(), b.ToArray());
        var e = Assert.Throws<Tuning.Adapters.AdapterFormatException>(() => PgmDirectory.Load(_dir, PgmGradientTests.Model("llama-tiny-gqa")));
        Assert.Contains(PgmDirectory.ConfigFile, e.Message);
        Assert.Contains("vocab_size", e.Message);
    }
}
