using System.Diagnostics;
using System.Text;
using System.Text.Json;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.AttentionInputPrefix;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Reporting;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// An accuracy measured by the experiment: exact match (%) of all 10 greedy output tokens over the test items.
/// DirectChange and TotalChange are the attention-shift diagnostic's largest values for the phase's adapter
/// (<see cref="Analysis.AttentionShift"/>): a prefix cannot change a layer's attention over the content.
/// Steps are those trained; ScaleSteps the phase's count at the run's scale, InProgress when Steps fell short (a stop).
/// </summary>
public sealed record PetrovResult(string Phase, string Method, string TrainedOn, string EvaluatedOn, int Steps, int FullSteps, long Parameters,
    double Accuracy, double? Reference, double Seconds, double? DirectChange = null, double? TotalChange = null, string? Seeds = null, double? LearningRate = null,
    bool InProgress = false, int? ScaleSteps = null);

/// <summary>
/// Runs one setup end to end with our engine: pretraining (resumable; skipped when a checkpoint is shipped
/// or already trained), export as a GPT-2 checkpoint, each adaptation through the same Trainer as every
/// tuning method, evaluation on 3,200 test items, and the report (results.json, results.md, curves).
/// </summary>
public sealed class PetrovExperiment(PetrovSetup setup, string outputDirectory, bool fullScale, string? shippedModels = null, int testItems = 3_200,
    Action<string>? log = null, ulong seed = 7)
{
    readonly Action<string> _log = log ?? (_ => { });
    readonly int _testItems = testItems > 0 ? testItems : throw new ArgumentOutOfRangeException(nameof(testItems), testItems, "PetrovExperiment: at least one test item per evaluation.");

    /// <summary>How often (steps) an adaptation phase saves its checkpoint.</summary>
    public int PhaseCheckpointEvery { get; init; } = 1_000;

    /// <summary>
    /// End each phase this run at this step of its count (checkpointed; null: run it to the end). The report gives the steps
    /// reached and says the phase is in progress; a rerun with the same DIR continues it. This is how a phase far longer than
    /// a session (setup 3's 500k-step composition) is run as far as time allows, its curve drawn so far.
    /// </summary>
    public int? StopAtStep { get; init; }

    /// <summary>How often (steps) pretraining saves its checkpoint.</summary>
    public int PretrainCheckpointEvery { get; init; } = 1_000;

    /// <summary>The pretrained model's fingerprint (<see cref="PhaseRun.Fingerprint"/>) once Run has loaded it; phases resume only then.</summary>
    string? _modelFingerprint;

    int Steps(int small, int full) => fullScale ? full : small;

    /// <summary>The pretrained model's identity: architecture, prefix padding and tasks.</summary>
    string ModelKey => $"L{setup.Model.Layers}-H{setup.Model.Heads}-d{setup.Model.Dim}{(setup.Model.FirstLayerNorm ? "" : "-noln1")}" +
        $"{(Padding > 0 ? $"-pad{Padding}" : "")}-" + string.Join("+", setup.PretrainTasks.Select(PetrovTasks.Name));

    /// <summary>The pad positions every sequence starts with (the model's pretraining; a prefix's slots are the last of them).</summary>
    int Padding => setup.Model.PrefixPadding;

    string PretrainKey => $"pretrain-{ModelKey}-{(fullScale ? "full" : "small")}";

    public IReadOnlyList<PetrovResult> Run(bool retrain = false, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outputDirectory);
        var (modelDir, pretrainSteps) = Pretrained(retrain, cancellationToken);
        if (Gpt2Export.PrefixPadding(modelDir) is var recorded && recorded != Padding)
            throw new InvalidOperationException($"{modelDir}: pretrained with {recorded} pad positions ({Gpt2Export.PrefixPaddingField}); setup {setup.Number} needs {Padding}.");
        var model = ModelLoader.Load(modelDir);
        _modelFingerprint = PhaseRun.Fingerprint(modelDir);
        var results = new List<PetrovResult>();
        foreach (var task in setup.PretrainEval)
            results.Add(new(modelDir.StartsWith(shippedModels ?? "\0", StringComparison.Ordinal) ? "pretrained (shipped)" : "pretrained", "none",
                string.Join(", ", setup.PretrainTasks.Select(PetrovTasks.Name)), PetrovTasks.Name(task),
                pretrainSteps, setup.FullPretrainSteps, 0, Accuracy(model, null, task), null, 0));
        foreach (var phase in setup.Phases)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var clock = Stopwatch.StartNew();
            // Train each seed; keep the one with the best accuracy on a validation sample of the training split.
            TuningMethod? method = null;
            double seconds = 0, bestValidation = -1;
            long reached = 0;
            ulong bestSeed = seed;
            var seedNotes = new List<string>();
            var validationItems = PetrovTuningData.ValidationSample(phase.Task);
            int seedCount = fullScale ? 1 : phase.Seeds;   // full scale is the authors' protocol: one initialisation, all its steps
            for (int k = 0; k < seedCount; k++)
            {
                var (candidate, s, n) = Adapt(model, phase, seed + (ulong)k, cancellationToken);
                double v = PetrovEvaluation.Accuracy(model, candidate, validationItems, Padding);
                seconds += s;
                reached = n;
                seedNotes.Add($"{seed + (ulong)k}: {v:F1}%");
                if (v > bestValidation) (bestValidation, method, bestSeed) = (v, candidate, seed + (ulong)k);
            }
            string? seeds = seedCount > 1 ? "validation " + string.Join(", ", seedNotes) : null;
            if (method is null) throw new InvalidOperationException($"{phase.Name}: no seed was trained (Seeds = {phase.Seeds}).");
            var promptTask = PetrovTuningData.Task(method.VirtualTokens, Padding);
            var shift = Tuning.Analysis.AttentionShift.Analyze(model, method, [.. PetrovSampler.TestSet(phase.Task, 64).Select(e => PetrovTuningData.Prompt(promptTask, e))]);
            int scaleSteps = Steps(phase.Steps, phase.FullSteps);
            foreach (var task in phase.EvalTasks)
                results.Add(new(phase.Name, phase.Kind.ToString(), PetrovTasks.Name(phase.Task), PetrovTasks.Name(task), (int)reached, phase.FullSteps,
                    method.TrainableParameters, Accuracy(model, method, task), task == phase.Task ? phase.Reference : null, seconds,
                    shift.MaxDirectChange, shift.MaxTotalChange, seeds, LearningRate(phase), InProgress: reached < scaleSteps, ScaleSteps: scaleSteps));
            var rows = results.Where(r => r.Phase == phase.Name).ToList();
            // The folder keeps the figure (--status gives it without evaluating again).
            PhaseRun.WriteResult(PhaseDirectory(phase, bestSeed), reached, _testItems, rows.ToDictionary(r => r.EvaluatedOn, r => r.Accuracy), seconds);
            _log($"{phase.Name}: {string.Join(", ", rows.Select(r => $"{r.EvaluatedOn} {r.Accuracy:F1}%"))} " +
                 // A phase resumed over several runs took the seconds of all of them; this run's alone would understate it.
                 $"({seconds:F0} s of training in all; this run {clock.Elapsed.TotalSeconds:F0} s)");
        }
        WriteReport(results);
        return results;
    }

    /// <summary>
    /// Only the pretraining (resumed from its checkpoint when one is there): the exported GPT-2 checkpoint's directory.
    /// Full-scale pretraining of setups 2–4 takes hours here; this is how the shipped models are made.
    /// </summary>
    public string Pretrain(bool retrain = false, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outputDirectory);
        return Pretrained(retrain, cancellationToken).Directory;
    }

    /// <summary>The pretrained model as a GPT-2 checkpoint directory (shipped, trained before, resumed, or trained now) and its pretraining steps.</summary>
    (string Directory, int Steps) Pretrained(bool retrain, CancellationToken ct)
    {
        // A shipped model (models/petrov/<key>/) serves a scale when it had at least that scale's pretraining
        // steps (config.json's softprompt_pretrain_steps; absent means the authors' count).
        int steps = Steps(setup.PretrainSteps, setup.FullPretrainSteps);
        if (!retrain && Shipped() is var (shipped, shippedSteps))
        {
            if (shippedSteps >= steps)
            {
                _log($"pretraining skipped: using the shipped {shipped} ({shippedSteps:N0} steps)");
                return (shipped, shippedSteps);
            }
            _log($"the shipped {shipped} had {shippedSteps:N0} pretraining steps, fewer than this scale's {steps:N0}: pretraining");
        }
        string dir = Path.Combine(outputDirectory, PretrainKey), checkpoint = Path.Combine(dir, "checkpoint"), export = Path.Combine(dir, "model");
        if (retrain && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        PretrainCheckpoint.Recover(checkpoint);
        var run = PretrainCheckpoint.Exists(checkpoint) ? PretrainCheckpoint.Resume(checkpoint) : new MinGptPretrainer(setup.Model, setup.PretrainTasks, new PretrainOptions());
        if (run.Step >= steps && File.Exists(Path.Combine(export, "config.json"))) return (export, steps);
        var clock = Stopwatch.StartNew();
        double before = run.ElapsedSeconds;   // the sessions before this one: the log's elapsed_s runs on across resumes
        string logPath = Path.Combine(dir, "pretrain_log.jsonl");
        if (run.Step > 0) TrainingLog.TruncateAfter(logPath, run.Step);   // the lines logged after the checkpoint come again
        var pace = new Pace(run.Step);
        using (var trainLog = new TrainingLog(logPath, append: run.Step > 0))
            while (run.Step < steps)
            {
                ct.ThrowIfCancellationRequested();
                float loss = run.TrainStep();
                if (run.Step % 100 == 0 || run.Step == steps)
                {
                    trainLog.Write(new TrainingRecord { Step = run.Step, Loss = loss, ElapsedSeconds = before + clock.Elapsed.TotalSeconds });
                    _log($"pretraining setup {setup.Number}: step {run.Step}/{steps}, loss {loss:F4}{pace.Describe(run.Step, steps)}");
                }
                if (run.Step % PretrainCheckpointEvery == 0 || run.Step == steps)
                {
                    run.ElapsedSeconds = before + clock.Elapsed.TotalSeconds;
                    PretrainCheckpoint.Save(checkpoint, run);   // resumable across sessions
                }
            }
        Gpt2Export.Write(run.Model, export, run.Step);
        CurvePlot.FromLog(TrainingLog.Read(logPath), $"pretraining, setup {setup.Number}").Save(Path.Combine(dir, "curves.svg"));
        return (export, steps);
    }

    /// <summary>
    /// The shipped model of this setup (models/petrov/&lt;key&gt;/) and the pretraining steps its config.json records (absent: the
    /// authors' count, which the first shipped model had); null when none is shipped.
    /// </summary>
    (string Directory, int Steps)? Shipped()
    {
        if (shippedModels is null) return null;
        string dir = Path.Combine(shippedModels, ModelKey), config = Path.Combine(dir, "config.json");
        if (!File.Exists(config)) return null;
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))?[Gpt2Export.PretrainStepsField];
        return (dir, node is null ? setup.FullPretrainSteps : node.GetValue<int>());
    }

    /// <summary>
    /// Trains one phase's adapter on the pretrained model (its N(0, 1) or LoRA init drawn from <paramref name="initSeed"/>); returns it,
    /// the seconds its training took (every session of a resumed run) and the steps it reached (fewer than the phase's with <see cref="StopAtStep"/>).
    /// <paramref name="observer"/> sees every progress report of the trainer (the benchmark times steps with it).
    /// </summary>
    public (TuningMethod Method, double Seconds, long Steps) Adapt(ICausalLanguageModel model, PetrovPhase phase, ulong initSeed = 7, CancellationToken ct = default,
        IProgress<TrainingProgress>? observer = null)
    {
        var rng = new Rng(initSeed);   // the adaptation's initialisation (a prefix's N(0, 1) draw)
        TuningMethod method = phase.Kind switch
        {
            AdaptationKind.Prefix => AttentionInputPrefixMethod.Create(phase.PrefixLength, model, rng),
            AdaptationKind.Lora => LoraMethod.Create(new LoraConfig(phase.LoraRank, phase.LoraRank, TargetModules: ["c_proj", "c_fc"]), model, rng),
            _ => FullFineTuningMethod.Create(new FullFineTuningConfig(DecayEmbeddings: false), model),   // minGPT's decay rule, as the authors' Trainer
        };
        int steps = Steps(phase.Steps, phase.FullSteps);
        var examples = PetrovTuningData.Examples(phase.Task, Math.Min(steps * 64, 64_000));
        var task = PetrovTuningData.Task(method.VirtualTokens, Padding);
        var options = new TrainerOptions
        {
            MaxSteps = steps, BatchSize = 64, LearningRate = LearningRate(phase), AdamBeta2 = 0.95, Schedule = ScheduleKind.Constant,
            WeightDecay = phase.Kind == AdaptationKind.FullFineTuning ? 0.1 : 0.0, MaxGradNorm = 1f, LogEvery = 50,
            // The authors fine-tune with their pretraining Trainer (model.train(): dropout 0.1); their prefix and LoRA trainers put the model in eval mode.
            ModelDropout = phase.Kind == AdaptationKind.FullFineTuning,
            CheckpointEvery = PhaseCheckpointEvery, StopAtStep = StopAtStep,
        };
        string dir = PhaseDirectory(phase, initSeed);
        // A phase run resumes from its checkpoint when the same phase (steps, learning rate, seed, pretrained model) ran
        // there before — the authors' long phases take many hours here; anything else starts afresh.
        // Outside Run (the benchmark) the pretrained model has no fingerprint: always a fresh start.
        long resumedAt = 0;
        if (_modelFingerprint is null) { if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true); }
        else resumedAt = PhaseRun.Prepare(dir, PhaseRun.Identity(setup.Number, phase, initSeed, steps, options.LearningRate, _modelFingerprint));
        long end = Math.Min(steps, StopAtStep ?? int.MaxValue);
        if (resumedAt >= end)
            _log($"{phase.Name}: trained to step {resumedAt:N0} of {steps:N0} before ({dir}); evaluating it");   // no session: nothing is trained
        else
        {
            string? earlierBuild = _modelFingerprint is null ? null : PhaseRun.RecordSession(dir, resumedAt);
            if (resumedAt > 0)
                _log($"{phase.Name}: resuming from step {resumedAt:N0} of {steps:N0} ({dir})" +
                     (earlierBuild is not null && earlierBuild != PhaseRun.Build ? $"; begun by build {earlierBuild}, continued by {PhaseRun.Build}" : ""));
        }
        // With a curve, the trainer measures exact match on 320 test items every CurveEvery updates (train_log.jsonl, curves.svg).
        int curveEvery = phase.CurveEvery(fullScale);
        Example[]? curve = curveEvery > 0 ? [.. PetrovSampler.TestSet(phase.Task, 320).Select(PetrovTuningData.Fields)] : null;
        if (curve is not null) options = options with { EvalEvery = curveEvery };
        int logEvery = Math.Max(100, steps / 50);
        var pace = new Pace(resumedAt);
        var progress = new InlineProgress<TrainingProgress>(p =>
        {
            observer?.Report(p);
            if (p.Eval is null && (p.Step % logEvery == 0 || p.Step == end))
                _log($"{phase.Name}: step {p.Step:N0}/{p.MaxSteps:N0}, loss {p.Loss:F4}{pace.Describe(p.Step, end)}");
        });
        var result = new Trainer(model, method, task, examples, curve, options, dir).Train(progress, ct);
        double seconds = result.Seconds;   // every session of a resumed phase
        if (curve is not null)
        {
            var points = TrainingLog.Read(Path.Combine(dir, "train_log.jsonl")).Where(r => r.Get("exact_match") is not null).Select(r => ((double)r.Step, 100 * r.Get("exact_match")!.Value)).ToArray();
            new CurvePlot { Title = $"setup {setup.Number}: {phase.Name} — exact match (320 test items) vs steps", RightLabel = "exact match, %" }
                .Add("exact match", points, PlotAxis.Right).Save(Path.Combine(outputDirectory, $"setup{setup.Number}-{Slug(phase.Name)}{(phase.Seeds > 1 ? $"-seed{initSeed}" : "")}-curve.svg"));
        }
        return (method, seconds, result.Steps);
    }

    /// <summary>Where a phase's run (checkpoint, log, adapter) lives for one initialisation seed.</summary>
    string PhaseDirectory(PetrovPhase phase, ulong initSeed) =>
        Path.Combine(outputDirectory, $"setup{setup.Number}", Slug(phase.Name) + (phase.Seeds > 1 ? $"-seed{initSeed}" : ""));

    /// <summary>
    /// How far each stage of this setup at this scale has come in the output directory — pretraining (or the shipped model
    /// that serves it), then every phase and seed a run would train — from the files alone: nothing is trained or written.
    /// </summary>
    public IReadOnlyList<PetrovStageProgress> Progress()
    {
        int pretrainSteps = Steps(setup.PretrainSteps, setup.FullPretrainSteps);
        var stages = new List<PetrovStageProgress>
        {
            Shipped() is var (_, s) && s >= pretrainSteps
                ? new PetrovStageProgress("pretraining", s, pretrainSteps, null, Note: "the shipped model serves this scale")
                : PetrovStageProgress.Pretraining(Path.Combine(outputDirectory, PretrainKey), pretrainSteps),
        };
        foreach (var phase in setup.Phases)
        {
            int seedCount = fullScale ? 1 : phase.Seeds;
            for (int k = 0; k < seedCount; k++)
            {
                ulong initSeed = seed + (ulong)k;
                stages.Add(PetrovStageProgress.Phase(phase.Name + (seedCount > 1 ? $" (seed {initSeed})" : ""), PhaseDirectory(phase, initSeed),
                    Steps(phase.Steps, phase.FullSteps), LearningRate(phase), initSeed, PetrovTasks.Name(phase.Task)));
            }
        }
        return stages;
    }

    /// <summary>
    /// The phase's learning rate; at small scale a prefix's is multiplied by the step reduction, since the
    /// authors' 5e-5 moves an N(0, 1)-initialised prefix too little in a tenth of their steps (the report says so),
    /// capped at <see cref="MaxSmallScalePrefixLr"/> (the composition's 500k → 600 steps would otherwise ask for 0.04).
    /// </summary>
    public double LearningRate(PetrovPhase phase) =>
        !fullScale && phase.Kind == AdaptationKind.Prefix ? Math.Min(MaxSmallScalePrefixLr, phase.LearningRate * phase.FullSteps / phase.Steps) : phase.LearningRate;

    /// <summary>The largest learning rate the small scale gives a prefix.</summary>
    public const double MaxSmallScalePrefixLr = 1e-2;

    static string Slug(string name) => new([.. name.Select(c => char.IsLetterOrDigit(c) ? c : '-')]);

    /// <summary>Exact match (%) of all 10 greedy output tokens over the task's test items, with the method's plan (or none).</summary>
    double Accuracy(ICausalLanguageModel model, TuningMethod? method, PetrovTask task) =>
        PetrovEvaluation.Accuracy(model, method, PetrovSampler.TestSet(task, _testItems), Padding);

    static readonly JsonSerializerOptions ReportJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>What setupN-results.json holds.</summary>
    sealed record Report(int Setup, string Scale, string Expectation, int TestItems, string? Model, IReadOnlyList<PetrovResult> Results);

    /// <summary>
    /// This run's rows and, from the report already in the directory, the rows of phases this run did not select, when that report
    /// measured the same pretrained model at the same scale with as many test items: phases run one at a time (`--phases`) add up
    /// to one table. Rows go in the setup's phase order.
    /// </summary>
    IReadOnlyList<PetrovResult> Merged(string jsonPath, IReadOnlyList<PetrovResult> results)
    {
        Report? earlier = null;
        try { if (File.Exists(jsonPath)) earlier = JsonSerializer.Deserialize<Report>(File.ReadAllText(jsonPath), ReportJson); }
        catch (JsonException e) { _log($"{jsonPath}: not read ({e.Message}); the report holds this run's phases only"); }
        var merged = results.ToList();
        if (earlier is { Results: not null } && earlier.Model == _modelFingerprint && earlier.Scale == (fullScale ? "full" : "small") && earlier.TestItems == _testItems)
        {
            var kept = earlier.Results.Where(r => !r.Phase.StartsWith("pretrained", StringComparison.Ordinal) && results.All(x => x.Phase != r.Phase)).ToList();
            if (kept.Count > 0) _log($"the report keeps {kept.Select(r => r.Phase).Distinct().Count()} phase(s) of an earlier run on the same model ({jsonPath})");
            merged.AddRange(kept);
        }
        var order = PetrovSetup.For(setup.Number).Phases.Select(p => p.Name).ToList();
        int Rank(PetrovResult r) => r.Phase.StartsWith("pretrained", StringComparison.Ordinal) ? -1 : order.IndexOf(r.Phase) is var i and >= 0 ? i : order.Count;
        return [.. merged.OrderBy(Rank)];   // stable: a phase's rows keep their order
    }

    void WriteReport(IReadOnlyList<PetrovResult> thisRun)
    {
        string jsonPath = Path.Combine(outputDirectory, $"setup{setup.Number}-results.json");
        var results = Merged(jsonPath, thisRun);
        string scale = fullScale ? "full (the authors' iteration counts and learning rates)"
            : "small (iterations scaled down so a setup fits about 30 minutes on 2 cores, the authors' counts in parentheses; a prefix's learning rate is the authors' × their steps / ours, given in the lr column)";
        AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(
            new Report(setup.Number, fullScale ? "full" : "small", setup.Expectation, _testItems, _modelFingerprint, results), ReportJson));
        var md = new StringBuilder($"# Petrov et al. setup {setup.Number}\n\nModel: {setup.Model.Layers} layer(s), {setup.Model.Heads} head(s), d = {setup.Model.Dim}" +
            $"{(setup.Model.FirstLayerNorm ? "" : ", no first LayerNorm")}, {Padding} pad position(s) before the digits (pretraining and every phase). Scale: {scale}. Accuracy: exact match of all 10 greedy output tokens over {_testItems} test items.\n\n" +
            $"The paper: {setup.Expectation}.\n\nDirect / total change: the attention-shift diagnostic's largest total-variation change of a head's attention over the content, given the layer's own input / against the pretrained model's run (64 test prompts).\n\n" +
            "Full fine-tuning trains every parameter with the model in training mode (its 0.1 dropouts), as the authors' Trainer does, and decays the matrices toward zero " +
            "(AdamW, 0.1; biases, norms and the embedding tables are not decayed: minGPT's rule, which the authors' code follows). A prefix or LoRA trains with the model in eval mode, as theirs.\n\n" +
            "| phase | method | trained on | evaluated on | parameters | steps (authors') | lr | accuracy | paper | direct change | total change | seconds |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var r in results)
        {
            string lr = r.LearningRate?.ToString("0.0e0") ?? "";
            md.Append($"| {r.Phase} | {r.Method} | {r.TrainedOn} | {r.EvaluatedOn} | {r.Parameters:N0} | {r.Steps:N0} ({r.FullSteps:N0}) | {lr} | {r.Accuracy:F1}% | {(r.Reference is { } x ? $"{x}%" : "")} | {(r.DirectChange is { } d ? d.ToString("0.0e0") : "")} | {(r.TotalChange is { } t ? t.ToString("F3") : "")} | {r.Seconds:F0} |\n");
        }
        foreach (var r in results.Where(r => r.InProgress).DistinctBy(r => r.Phase))
            md.Append($"\n{r.Phase}: in progress — stopped at step {r.Steps:N0} of {r.ScaleSteps:N0}; rerun with the same --out to continue.");
        foreach (var r in results.Where(r => r.Seeds is not null).DistinctBy(r => r.Phase))
            md.Append($"\n{r.Phase}: {r.Seeds} — the best is reported.");
        foreach (var p in setup.Phases.Where(p => p.CurveEvery(fullScale) > 0))
            md.Append($"\n{p.Name}: exact match vs steps in setup{setup.Number}-{Slug(p.Name)}{(p.Seeds > 1 ? "-seed*" : "")}-curve.svg (320 test items every {p.CurveEvery(fullScale):N0} steps).");
        md.Append('\n');
        File.WriteAllText(Path.Combine(outputDirectory, $"setup{setup.Number}-results.md"), md.ToString());
    }
}
