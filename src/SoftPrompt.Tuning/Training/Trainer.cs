using System.Diagnostics;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Reporting;

namespace SoftPrompt.Tuning.Training;

/// <summary>
/// Trains a method on a frozen model. Output directory: the adapter (PEFT layout; the best one by
/// the task's selection metric when there is evaluation data, else the last), checkpoint/ (exact
/// resume: parameters, optimizer moments, sampler and dropout RNG states, step), best/, the JSONL
/// log train_log.jsonl and the curves in curves.svg. A run whose directory holds a checkpoint
/// resumes from it and reproduces the uninterrupted run's losses exactly.
/// </summary>
public sealed class Trainer
{
    readonly ICausalLanguageModel _model;
    readonly TuningMethod _method;
    readonly TuningTask _task;
    readonly IReadOnlyList<EncodedExample> _train;
    readonly (EncodedExample Prompt, int Label)[]? _headTrain;   // classification through a head
    readonly IReadOnlyList<Example>? _eval;
    readonly TrainerOptions _o;
    readonly string _out;
    readonly JsonObject _adapterExtras;
    readonly List<Tensor> _parameters;

    public Trainer(ICausalLanguageModel model, TuningMethod method, TuningTask task, IReadOnlyList<Example> train, IReadOnlyList<Example>? eval,
        TrainerOptions options, string outputDirectory, JsonObject? adapterExtras = null)
    {
        options.Validate();
        method.CheckFits(model);
        if (method.VirtualTokens != task.Template.SoftTokenCount && method.VirtualTokens > 0)
            throw new ArgumentException($"The template places {task.Template.SoftTokenCount} virtual tokens ('{task.Template.Source}') but the method has {method.VirtualTokens}.");
        if (method.VirtualTokens == 0 && task.Template.SoftTokenCount > 0)
            throw new ArgumentException($"The template places {task.Template.SoftTokenCount} virtual tokens but {method.Name} uses none; drop the {{soft}} slots.");
        _model = model; _method = method; _task = task; _o = options; _out = outputDirectory;
        if (HeadClassification.Applies(method, task)) _headTrain = HeadClassification.Encode(task, train, "training data");
        _train = _headTrain is null ? task.Encode(train, "training data") : [.. _headTrain.Select(r => r.Prompt)];
        _eval = eval is { Count: > 0 } ? eval : null;
        _adapterExtras = adapterExtras ?? [];
        _parameters = [.. method.Parameters().Where(p => p.RequiresGrad)];
        if (_parameters.Count == 0) throw new ArgumentException($"{method.Name}: nothing to train.");
    }

    string CheckpointDir => Path.Combine(_out, "checkpoint");
    string LogPath => Path.Combine(_out, "train_log.jsonl");

    Optimizer CreateOptimizer()
    {
        // A method's decay offsets (full fine-tuning's frozen W, so that W + ΔW decays) matter only with decay.
        var offsets = _o.WeightDecay != 0 ? _method.WeightDecayOffsets() : null;
        if (offsets is not null && _o.Optimizer != OptimizerKind.AdamW)
            throw new ArgumentException($"{_method.Name} with weight decay {_o.WeightDecay} decays its full weights, which only AdamW does; use AdamW, weight decay 0, or (full fine-tuning) DecayTowardPretrained.");
        // Biases and norm weights that a method exempts go in a second group without decay (its parameters keep their order in the checkpoint).
        var exempt = _o.WeightDecay != 0 ? _method.ExemptFromWeightDecay() : new HashSet<Tensor>();
        var decayed = _parameters.Where(p => !exempt.Contains(p)).ToArray();
        var others = _parameters.Where(exempt.Contains).ToArray();
        if (_o.Optimizer == OptimizerKind.Adafactor)
            return others.Length == 0 ? new Adafactor(_parameters, lr: _o.LearningRate, weightDecay: _o.WeightDecay)
                : throw new ArgumentException($"{_method.Name} exempts biases and norms from weight decay {_o.WeightDecay}, which Adafactor here cannot; use AdamW or weight decay 0.");
        var groups = new List<ParamGroup> { new(decayed, weightDecayOffsets: offsets is null ? null : [.. decayed.Select(p => offsets.GetValueOrDefault(p))]) };
        if (others.Length > 0) groups.Add(new ParamGroup(others, weightDecay: 0));
        return new AdamW(groups, _o.LearningRate, new AdamWOptions(_o.AdamBeta1, _o.AdamBeta2), _o.WeightDecay);
    }

    LrSchedule CreateSchedule() => _o.Schedule switch
    {
        ScheduleKind.Constant => _o.WarmupSteps > 0 ? LrSchedule.ConstantWithWarmup(_o.WarmupSteps) : LrSchedule.Constant(),
        ScheduleKind.Cosine => LrSchedule.CosineWithWarmup(_o.WarmupSteps, _o.MaxSteps),
        _ => LrSchedule.LinearWithWarmup(_o.WarmupSteps, _o.MaxSteps),
    };

    public TrainingResult Train(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_out);
        var optimizer = CreateOptimizer();
        var schedule = CreateSchedule();
        var sampler = new BatchSampler(_train.Count, _o.BatchSize, _o.Seed);
        var collator = new Collator();
        var (selection, higherIsBetter) = _task.SelectionMetric;
        long step = 0, bestStep = 0;
        double secondsBefore = 0;   // training time before the checkpoint a run resumes from
        double? best = null;
        int stale = 0;
        var guard = new GuardedUpdate(_o.MaxNonFiniteSteps, "Training", CheckpointDir);
        var losses = new List<double>();
        // Training mode for the model (its config's dropouts): a stream of its own, checkpointed for exact resume.
        var modelDropout = _o.ModelDropout ? new Rng(_o.Seed ^ 0x0D0F_D50FUL) : null;
        TrainingCheckpoint.Recover(CheckpointDir);
        if (TrainingCheckpoint.Exists(CheckpointDir))
        {
            var s = TrainingCheckpoint.Load(CheckpointDir, _method, optimizer);
            sampler.SetState(s.Sampler);
            if (s.MethodRng is not null) _method.StochasticRng?.SetState(s.MethodRng);
            if (s.ModelDropoutRng is not null) modelDropout?.SetState(s.ModelDropoutRng);
            (step, best, bestStep, stale, secondsBefore) = (s.Step, s.BestMetric, s.BestStep, s.EvalsWithoutImprovement, s.ElapsedSeconds);
            TrainingLog.TruncateAfter(LogPath, step);   // lines past the checkpoint come again
        }
        else if (File.Exists(LogPath)) File.Delete(LogPath);

        using var log = new TrainingLog(LogPath, append: true);
        var clock = Stopwatch.StartNew();
        double Elapsed() => secondsBefore + clock.Elapsed.TotalSeconds;
        EvalResult? bestEval = null, lastEval = null;
        bool stoppedEarly = false;
        _method.Train();
        int end = Math.Min(_o.MaxSteps, _o.StopAtStep ?? int.MaxValue);   // the schedule spans MaxSteps either way
        while (step < end && !stoppedEarly)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long t0 = clock.ElapsedTicks;
            double lossSum = 0;
            int tokens = 0;
            optimizer.ZeroGrad();
            for (int micro = 0; micro < _o.GradientAccumulation; micro++)
            {
                using var scope = TensorScope.Begin();
                var indices = sampler.Next().Indices;
                var batch = collator.Collate([.. indices.Select(i => _train[i])]);
                var loss = _headTrain is null
                    ? BatchLoss.Compute(_model, _method, batch, training: true, modelDropout)
                    : HeadClassification.Loss(_model, _method, [.. indices.Select(i => _headTrain[i])], training: true, modelDropout);
                float value = loss.Span[0];
                lossSum += value;
                tokens += batch.TokenCount;
                if (_o.GradientAccumulation > 1) loss = Tensors.Ops.Functional.Scale(loss, 1f / _o.GradientAccumulation);
                loss.Backward();
            }
            double meanLoss = lossSum / _o.GradientAccumulation;
            float norm = GradClip.ClipGradNorm(_parameters, _o.MaxGradNorm);
            step++;
            guard.Apply(optimizer, schedule, step, meanLoss, norm);
            losses.Add(meanLoss);
            double seconds = (clock.ElapsedTicks - t0) / (double)Stopwatch.Frequency;
            double lr = optimizer.Groups[0].Lr;
            var report = new TrainingProgress(step, _o.MaxSteps, meanLoss, lr, tokens / Math.Max(seconds, 1e-9), TimeSpan.FromSeconds(Elapsed()), StepSeconds: seconds);
            if (step % _o.LogEvery == 0 || step == end)
                log.Write(new TrainingRecord { Step = step, Epoch = sampler.Epoch, Loss = meanLoss, LearningRate = lr, TokensPerSecond = report.TokensPerSecond, ElapsedSeconds = Elapsed() });
            progress?.Report(report);

            bool evalNow = _eval is not null && ((_o.EvalEvery > 0 && step % _o.EvalEvery == 0) || step == _o.MaxSteps);
            if (evalNow)
            {
                lastEval = Evaluator.Evaluate(_model, _method, _task, _eval!, _o.BatchSize, cancellationToken: cancellationToken);
                log.Write(new TrainingRecord { Step = step, Metrics = new Dictionary<string, double>(lastEval.Metrics) { ["eval_loss"] = lastEval.Loss } });
                progress?.Report(report with { Eval = lastEval });
                double m = lastEval.Get(selection);
                if (best is null || (higherIsBetter ? m > best : m < best))
                {
                    (best, bestStep, bestEval, stale) = (m, step, lastEval, 0);
                    SaveAdapter(Path.Combine(_out, "best"));
                }
                else if (_o.EarlyStoppingPatience > 0 && ++stale >= _o.EarlyStoppingPatience) stoppedEarly = true;
            }
            if (evalNow || step == end || stoppedEarly || (_o.CheckpointEvery > 0 && step % _o.CheckpointEvery == 0))
                TrainingCheckpoint.Save(CheckpointDir, _method, optimizer,
                    new TrainerState(step, sampler.GetState(), _method.StochasticRng?.GetState(), best, bestStep, stale, _method.Name.ToString(), modelDropout?.GetState(), Elapsed()));
        }
        // The adapter in the output directory: the best by the selection metric when evaluated, else the last.
        if (_eval is not null && Directory.Exists(Path.Combine(_out, "best")))
            foreach (var f in Directory.GetFiles(Path.Combine(_out, "best"))) File.Copy(f, Path.Combine(_out, Path.GetFileName(f)), overwrite: true);
        else SaveAdapter(_out);
        CurvePlot.FromLog(TrainingLog.Read(LogPath), $"{_method.Name} on {_model.Config.ModelType}").Save(Path.Combine(_out, "curves.svg"));
        return new TrainingResult(step, losses, lastEval, bestEval, bestStep, stoppedEarly, guard.Skipped, Elapsed());
    }

    void SaveAdapter(string dir)
    {
        var extras = (JsonObject)_adapterExtras.DeepClone();
        extras["template"] = _task.Template.Source;
        extras["answer_field"] = _task.Options.AnswerField;
        extras["task"] = _task.Kind.ToString().ToLowerInvariant();
        if (_task.Options.BosId is int bos) extras["bos_id"] = bos;
        if (_task.Options.EosId is int eos) extras["eos_id"] = eos;
        if (_task.Verbalizer is { } v) extras["verbalizer"] = new JsonObject(v.Labels.Select(l => new KeyValuePair<string, JsonNode?>(l, new JsonArray([.. v.WordsFor(l).Select(w => (JsonNode?)JsonValue.Create(w))]))));
        AdapterDirectory.Save(dir, _method, _model, _adapterExtras["base_model"]?.GetValue<string>(), extras);
    }
}
