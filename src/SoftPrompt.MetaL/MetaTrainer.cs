using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Reporting;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.MetaL;

/// <summary>Where a meta-training run stands; written last in a checkpoint, so a checkpoint exists only complete.</summary>
public sealed record MetaTrainerState(
    [property: JsonPropertyName("step")] long Step,
    [property: JsonPropertyName("sampler_rng")] ulong[] SamplerRng,
    [property: JsonPropertyName("noise_rng")] ulong[] NoiseRng,
    [property: JsonPropertyName("best_eval_loss")] double? BestEvalLoss,
    [property: JsonPropertyName("elapsed_seconds")] double ElapsedSeconds);

/// <summary>
/// The provider's offline step: meta-trains a PGM over a task collection's train split, episode by episode, with the
/// trainer's guarantees — exact resume from OUT/checkpoint after a kill (parameters, AdamW state, the episode and
/// Gumbel streams), a NaN guard, progress reports, train_log.jsonl and curves.svg, evaluation on held-out (validation)
/// tasks, the best PGM by evaluation loss kept in OUT (the last one when nothing is evaluated).
/// </summary>
public sealed class MetaTrainer(ICausalLanguageModel model, PromptGenerator pgm, TaskCollection tasks, ITextEncoder encoder, EpisodeFormat format,
    MetaTrainerOptions options, string outputDirectory, int? eosId = null)
{
    public const string StateFile = "meta_state.json", OptimizerFile = "optimizer.safetensors";

    public string CheckpointDir => Path.Combine(outputDirectory, "checkpoint");
    public string LogPath => Path.Combine(outputDirectory, "train_log.jsonl");

    public TrainingResult Train(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Check();
        if (tasks.Train.Count == 0) throw new ArgumentException("meta-training: no training tasks.");
        Directory.CreateDirectory(outputDirectory);
        var parameters = pgm.Parameters().Where(p => p.RequiresGrad).ToArray();
        var optimizer = new AdamW([new ParamGroup(parameters)], options.LearningRate, new AdamWOptions(), weightDecay: 0);
        var schedule = LrSchedule.LinearWithWarmup(options.WarmupSteps, options.MaxSteps);
        var sampler = new EpisodeSampler(tasks.Train, options.PromptDemonstrations, options.TextDemonstrations, options.Queries, options.Seed);
        var noiseRng = new Rng(options.Seed ^ 0x6E01_5EUL);
        var evalEpisodes = EvalEpisodes();
        long step = 0;
        double? best = null;
        double before = 0;
        CheckpointFolder.Recover(CheckpointDir, StateFile);
        if (File.Exists(Path.Combine(CheckpointDir, StateFile)))
        {
            var s = ReadState(Path.Combine(CheckpointDir, StateFile));
            StateFiles.LoadParameters(Path.Combine(CheckpointDir, PgmDirectory.WeightsFile), pgm);
            StateFiles.LoadOptimizer(Path.Combine(CheckpointDir, OptimizerFile), optimizer);
            sampler.SetState(s.SamplerRng);
            noiseRng.SetState(s.NoiseRng);
            (step, best, before) = (s.Step, s.BestEvalLoss, s.ElapsedSeconds);
            TrainingLog.TruncateAfter(LogPath, step);
        }
        else if (File.Exists(LogPath)) File.Delete(LogPath);

        using var log = new TrainingLog(LogPath, append: true);
        var clock = Stopwatch.StartNew();
        double Elapsed() => before + clock.Elapsed.TotalSeconds;
        var losses = new List<double>();
        var guard = new GuardedUpdate(options.MaxNonFiniteSteps, "Meta-training", CheckpointDir);
        long end = Math.Min(options.MaxSteps, options.StopAtStep ?? int.MaxValue);
        pgm.Train();
        while (step < end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long t0 = clock.ElapsedTicks;
            optimizer.ZeroGrad();
            double lossSum = 0;
            for (int e = 0; e < options.EpisodesPerStep; e++)
            {
                using var scope = TensorScope.Begin();
                var episode = sampler.Next();
                var noise = pgm.Config.Design == PromptDesign.Discrete ? pgm.GumbelNoise(model, noiseRng) : null;
                var (loss, _) = MetaLoss.Compute(model, pgm, episode, format, encoder, eosId, noise);
                lossSum += loss.Span[0];
                Tensors.Ops.Functional.Scale(loss, 1f / options.EpisodesPerStep).Backward();
            }
            double meanLoss = lossSum / options.EpisodesPerStep;
            float norm = GradClip.ClipGradNorm(parameters, options.MaxGradNorm);
            step++;
            guard.Apply(optimizer, schedule, step, meanLoss, norm);
            losses.Add(meanLoss);
            double seconds = (clock.ElapsedTicks - t0) / (double)Stopwatch.Frequency;
            var report = new TrainingProgress(step, options.MaxSteps, meanLoss, optimizer.Groups[0].Lr, options.EpisodesPerStep / Math.Max(seconds, 1e-9), TimeSpan.FromSeconds(Elapsed()), StepSeconds: seconds);
            if (step % options.LogEvery == 0 || step == end)
                log.Write(new TrainingRecord { Step = step, Loss = meanLoss, LearningRate = report.LearningRate, ElapsedSeconds = Elapsed() });
            progress?.Report(report);
            bool evalNow = evalEpisodes.Count > 0 && ((options.EvalEvery > 0 && step % options.EvalEvery == 0) || step == options.MaxSteps);
            if (evalNow)
            {
                double evalLoss = EvaluationLoss(evalEpisodes);
                log.Write(new TrainingRecord { Step = step, Metrics = new Dictionary<string, double> { ["eval_loss"] = evalLoss } });
                progress?.Report(report with { Eval = new EvalResult(evalLoss, new Dictionary<string, double>(), [], []) });
                if (best is null || evalLoss < best)
                {
                    best = evalLoss;
                    PgmDirectory.Save(Path.Combine(outputDirectory, "best"), pgm, model, format, options.PromptDemonstrations, options.TextDemonstrations);
                }
            }
            if (evalNow || step == end || (options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0))
                SaveCheckpoint(optimizer, new MetaTrainerState(step, sampler.GetState(), noiseRng.GetState(), best, Elapsed()));
        }
        // OUT holds the PGM: the best by held-out loss when evaluated, else the last
        string bestDir = Path.Combine(outputDirectory, "best");
        if (Directory.Exists(bestDir)) foreach (var f in Directory.GetFiles(bestDir)) File.Copy(f, Path.Combine(outputDirectory, Path.GetFileName(f)), overwrite: true);
        else PgmDirectory.Save(outputDirectory, pgm, model, format, options.PromptDemonstrations, options.TextDemonstrations);
        CurvePlot.FromLog(TrainingLog.Read(LogPath), $"MetaL-Prompt PGM ({PromptDesigns.Name(pgm.Config.Design)}) on {model.Config.ModelType}").Save(Path.Combine(outputDirectory, "curves.svg"));
        return new TrainingResult(step, losses, null, null, 0, false, guard.Skipped, Elapsed());
    }

    /// <summary>Fixed episodes of the validation tasks (the same every evaluation and after a resume).</summary>
    List<Episode> EvalEpisodes()
    {
        var usable = tasks.Validation.Where(t => t.Examples.Count >= options.PromptDemonstrations + options.TextDemonstrations + options.Queries).ToArray();
        if (usable.Length == 0) return [];
        var rng = new Rng(options.Seed ^ 0xE7A1UL);
        return [.. Enumerable.Range(0, options.EvalEpisodes).Select(i => EpisodeSampler.Draw(usable[i % usable.Length], rng, options.PromptDemonstrations, options.TextDemonstrations, options.Queries))];
    }

    /// <summary>Mean query loss over the episodes with the PGM's serving prompts (no Gumbel noise).</summary>
    public double EvaluationLoss(IReadOnlyList<Episode> episodes)
    {
        using var noGrad = Tape.NoGrad();
        pgm.Eval();
        try
        {
            double sum = 0;
            foreach (var episode in episodes)
            {
                using var scope = TensorScope.Begin();
                var prompt = pgm.Generate(model, encoder.Encode(format.Demonstrations(episode.PromptDemonstrations)));
                sum += MetaLoss.QueryLoss(model, prompt, episode, format, encoder, eosId, training: false).Span[0];
            }
            return sum / episodes.Count;
        }
        finally { pgm.Train(); }
    }

    void SaveCheckpoint(Optimizer optimizer, MetaTrainerState state) => CheckpointFolder.Write(CheckpointDir, folder =>
    {
        StateFiles.SaveParameters(Path.Combine(folder, PgmDirectory.WeightsFile), pgm);
        StateFiles.SaveOptimizer(Path.Combine(folder, OptimizerFile), optimizer);
        AtomicFile.WriteAllText(Path.Combine(folder, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
    });

    static MetaTrainerState ReadState(string path)
    {
        try { return JsonSerializer.Deserialize<MetaTrainerState>(File.ReadAllText(path)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new AdapterFormatException($"{path}: not a meta-training state ({e.Message})."); }
    }
}
