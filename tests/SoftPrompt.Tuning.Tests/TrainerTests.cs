using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Tuning.Tests.Training;

/// <summary>Letters a–z are ids 1–26, space 27, '.' 28 (id 0 is the soft-token placeholder); 29 is end of text.</summary>
sealed class LetterEncoder : ITextEncoder
{
    public const int Eos = 29;

    public int[] Encode(string text, bool addSpecialTokens = false) =>
        [.. text.Select(c => c == ' ' ? 27 : c == '.' ? 28 : c is >= 'a' and <= 'z' ? c - 'a' + 1 : throw new ArgumentException($"LetterEncoder: '{c}'"))];

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) =>
        new([.. ids.ToArray().Where(i => i is > 0 and <= 28).Select(i => i == 27 ? ' ' : i == 28 ? '.' : (char)('a' + i - 1))]);
}

/// <summary>
/// gpt2-tiny with its final LayerNorm gain scaled by 8. The fixture's weights (std 0.1) cap every
/// logit at about |ln_f(h)|·|w| ≈ 3, so no method could push a token's probability near 1 — the
/// loss floor would be ≈ 1.2 whatever is trained; scaled, the frozen model can express a memorised answer.
/// </summary>
static class TinyModels
{
    static readonly Lazy<string> _memorising = new(() =>
    {
        string src = MethodGradientTests.ModelDir("gpt2-tiny");
        string dst = Path.Combine(Path.GetTempPath(), $"softprompt-gpt2-memorising-{Environment.ProcessId}");
        Directory.CreateDirectory(dst);
        File.Copy(Path.Combine(src, "config.json"), Path.Combine(dst, "config.json"), true);
        using var f = Models.Safetensors.SafetensorsFile.Open(Path.Combine(src, "model.safetensors"));
        var tensors = f.Entries.Keys.Select(k =>
        {
            var t = f.LoadTensor(k);
            if (k.EndsWith("ln_f.weight")) System.Numerics.Tensors.TensorPrimitives.Multiply(t.Span, 8f, t.Span);
            return new KeyValuePair<string, Tensor>(k, t);
        }).ToList();
        Models.Safetensors.SafetensorsWriter.Write(Path.Combine(dst, "model.safetensors"), tensors);
        return dst;
    });

    public static string Memorising => _memorising.Value;
}

/// <summary>The trainer on a tiny random model: every method memorises a small task, the base stays frozen, resume is exact.</summary>
public sealed class TrainerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static readonly Example[] Memorise =
    [
        Example.Of(("text", "cat"), ("answer", "dog")),
        Example.Of(("text", "sun"), ("answer", "moon")),
        Example.Of(("text", "red"), ("answer", "blue")),
    ];

    internal static TuningMethod Method(string kind, ICausalLanguageModel model, int virtualTokens = 4, float dropout = 0f) => kind switch
    {
        "prompt" => PromptTuningMethod.Create(new PromptTuningConfig(virtualTokens), model, new Rng(1)),
        "ptuning" => PTuningMethod.Create(new PTuningConfig(virtualTokens, EncoderHiddenSize: 16), model, new Rng(1)),
        "ptuning_lstm" => PTuningMethod.Create(new PTuningConfig(virtualTokens, PromptEncoderType.Lstm, EncoderHiddenSize: 16, EncoderDropout: dropout), model, new Rng(1)),
        "prefix" => PrefixTuningMethod.Create(new PrefixTuningConfig(virtualTokens, EncoderHiddenSize: 32), model, new Rng(1)),
        "deep" => DeepPromptMethod.Create(new DeepPromptConfig(virtualTokens), model, new Rng(1)),
        "lora" => LoraMethod.Create(new LoraConfig(4, 8f, dropout, ["c_attn", "c_fc", "q_proj", "v_proj", "up_proj"]), model, new Rng(1)),
        "full" => FullFineTuningMethod.Create(new FullFineTuningConfig(), model),
        _ => throw new ArgumentException(kind),
    };

    static TuningTask Task(TuningMethod m) => new(
        Template.Parse(m.VirtualTokens > 0 ? $"{{soft:{m.VirtualTokens}}}{{text}} is{{answer}}" : "{text} is{answer}"),
        new LetterEncoder(), new RenderOptions { EosId = LetterEncoder.Eos });

    /// <summary>The same answer for every input, one token: all an input-level prompt can do on a random frozen model.</summary>
    static readonly Example[] Constant =
    [
        Example.Of(("text", "cat"), ("answer", "y")),
        Example.Of(("text", "sun"), ("answer", "y")),
        Example.Of(("text", "red"), ("answer", "y")),
    ];

    // Input-level prompts (prompt tuning, P-tuning) only add a bias the frozen model cannot turn into a
    // new input→answer mapping when that model is random (Petrov et al.); their memorisable task is a
    // constant answer. Prefixes at every layer, and LoRA, memorise the input-dependent mapping.
    [Theory]
    [InlineData("prompt", 0.03, false)]
    [InlineData("ptuning", 0.02, false)]
    [InlineData("prefix", 0.01, true)]
    [InlineData("deep", 0.3, true)]
    [InlineData("lora", 0.03, true)]
    [InlineData("full", 0.003, true)]
    public void EachMethodMemorisesASmallTaskAndLeavesTheModelUntouched(string kind, double lr, bool mapping)
    {
        var model = ModelLoader.Load(TinyModels.Memorising);
        int[] probe = [3, 1, 20, 27, 9, 19];
        float[] before;
        using (Tape.NoGrad()) before = model.Forward(probe, 1, probe.Length).ToArray();
        var m = Method(kind, model);
        var data = mapping ? Memorise : Constant;
        var task = mapping ? Task(m) : new TuningTask(Template.Parse($"{{soft:{m.VirtualTokens}}}{{text}} is{{answer}}"), new LetterEncoder(), new RenderOptions { AnswerPrefix = " " });
        double initial = Evaluator.MeanLoss(model, m, task.Encode(data, "train"), 8);
        var result = new Trainer(model, m, task, data, data, new TrainerOptions { MaxSteps = 300, BatchSize = 3, LearningRate = lr, Schedule = ScheduleKind.Constant }, _dir).Train();
        Assert.True(result.Losses[^1] < 0.02 * initial && result.Losses[^1] < 0.1, $"{kind}: loss {initial:F3} -> {result.Losses[^1]:F4}");
        if (mapping) Assert.Equal(["dog", "moon", "blue"], result.FinalEval!.Predictions);
        else Assert.All(result.FinalEval!.Predictions, p => Assert.StartsWith("y", p));   // no end token was taught: it goes on after "y"
        float[] after;
        using (Tape.NoGrad()) after = model.Forward(probe, 1, probe.Length).ToArray();
        Assert.Equal(before, after);   // bitwise: the frozen weights were not written
        Assert.True(File.Exists(Path.Combine(_dir, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(_dir, "curves.svg")));
    }

    [Fact]
    public void EveryStepReportsItsOwnTimeWithinTheRunsTime()
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("llama-tiny-gqa"));
        var options = new TrainerOptions { MaxSteps = 6, BatchSize = 2, LearningRate = 0.01, EvalEvery = 2, CheckpointEvery = 3 };
        var steps = new List<(long Step, double Seconds)>();
        var result = new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), Memorise, Memorise, options, _dir)
            .Train(new InlineProgress<TrainingProgress>(p => { if (p.Eval is null) steps.Add((p.Step, p.StepSeconds)); }));
        Assert.Equal([1L, 2, 3, 4, 5, 6], steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.True(s.Seconds > 0, $"step {s.Step}: {s.Seconds} s"));
        // the steps' own times leave out evaluations and checkpoints, which the run's time counts
        Assert.True(steps.Sum(s => s.Seconds) < result.Seconds, $"{steps.Sum(s => s.Seconds)} s of steps, {result.Seconds} s in all");
    }

    [Theory]
    [InlineData("lora")]       // LoRA dropout draws from the method's RNG
    [InlineData("ptuning_lstm")]   // so does the encoder LSTM's dropout
    [InlineData("prefix")]
    public void ResumingFromACheckpointReproducesTheUninterruptedLosses(string kind)
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("llama-tiny-gqa"));
        var data = Memorise.Concat([Example.Of(("text", "one"), ("answer", "two")), Example.Of(("text", "up"), ("answer", "down"))]).ToArray();
        var options = new TrainerOptions { MaxSteps = 12, BatchSize = 2, LearningRate = 0.01, WarmupSteps = 2, CheckpointEvery = 3, GradientAccumulation = 2 };
        var whole = Path.Combine(_dir, "whole");
        var full = new Trainer(model, Method(kind, model, dropout: 0.2f), Task(Method(kind, model)), data, null, options, whole).Train().Losses;

        var split = Path.Combine(_dir, "split");
        using var cts = new CancellationTokenSource();
        var first = new List<double>();
        var stopAtSix = new InlineProgress<TrainingProgress>(p => { first.Add(p.Loss); if (p.Step == 6) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new Trainer(model, Method(kind, model, dropout: 0.2f), Task(Method(kind, model)), data, null, options, split).Train(stopAtSix, cts.Token));
        // A fresh method (different init is overwritten by the checkpoint) continues from step 6.
        var second = new Trainer(model, Method(kind, model, dropout: 0.2f), Task(Method(kind, model)), data, null, options, split).Train();
        var rest = second.Losses;
        Assert.Equal(full.Take(6), first);
        Assert.Equal(full.Skip(6), rest);
        // The resumed run's time counts the first session's, as the log's elapsed seconds do.
        var elapsed = Reporting.TrainingLog.Read(Path.Combine(split, "train_log.jsonl")).Where(r => r.ElapsedSeconds is not null).Select(r => r.ElapsedSeconds!.Value).ToArray();
        Assert.Equal(elapsed.Order(), elapsed);
        Assert.True(second.Seconds >= elapsed[^1]);
        Assert.Equal(12, Reporting.TrainingLog.Read(Path.Combine(split, "train_log.jsonl")).Count(r => r.Loss is not null));
    }

    /// <summary>
    /// A checkpoint is one set of three files: killed while saving one, a run leaves the previous checkpoint aside
    /// (checkpoint.old) and a half-written new one (checkpoint.tmp); the resuming run takes the previous one back and
    /// ends with the uninterrupted run's losses. A completed save leaves neither folder behind.
    /// </summary>
    [Fact]
    public void AKillWhileSavingACheckpointResumesFromTheOneSetAside()
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("gpt2-tiny"));
        var options = new TrainerOptions { MaxSteps = 9, BatchSize = 2, LearningRate = 0.01, CheckpointEvery = 3 };
        var full = new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), Memorise, null, options, Path.Combine(_dir, "whole")).Train().Losses;

        string split = Path.Combine(_dir, "split"), checkpoint = Path.Combine(split, "checkpoint");
        using var cts = new CancellationTokenSource();
        var stopAtSix = new InlineProgress<TrainingProgress>(p => { if (p.Step == 6) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() =>
            new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), Memorise, null, options, split).Train(stopAtSix, cts.Token));
        Assert.Equal(6, TrainingCheckpoint.Step(checkpoint));
        Assert.False(Directory.Exists(checkpoint + ".tmp") || Directory.Exists(checkpoint + ".old"));

        // The kill: the step-6 checkpoint moved aside, the next one half written.
        Directory.Move(checkpoint, checkpoint + ".old");
        Directory.CreateDirectory(checkpoint + ".tmp");
        File.WriteAllText(Path.Combine(checkpoint + ".tmp", "method.safetensors"), "half");
        Assert.False(TrainingCheckpoint.Exists(checkpoint));

        var rest = new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), Memorise, null, options, split).Train().Losses;
        Assert.Equal(full.Skip(6), rest);
        Assert.False(Directory.Exists(checkpoint + ".tmp") || Directory.Exists(checkpoint + ".old"));
    }

    /// <summary>
    /// A run told to stop at a step (here between checkpoints, under a schedule that decays over MaxSteps) ends there with its
    /// checkpoint and adapter; rerun without the stop, it continues to the losses and adapter of a run that never stopped.
    /// </summary>
    [Fact]
    public void ARunStoppedAtAStepContinuesAsOneRun()
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("llama-tiny-gqa"));
        var data = Memorise.Concat([Example.Of(("text", "one"), ("answer", "two")), Example.Of(("text", "up"), ("answer", "down"))]).ToArray();
        var options = new TrainerOptions { MaxSteps = 12, BatchSize = 2, LearningRate = 0.01, WarmupSteps = 2, CheckpointEvery = 4 };
        string whole = Path.Combine(_dir, "whole"), split = Path.Combine(_dir, "split");
        var full = new Trainer(model, Method("lora", model, dropout: 0.2f), Task(Method("lora", model)), data, null, options, whole).Train();

        var first = new Trainer(model, Method("lora", model, dropout: 0.2f), Task(Method("lora", model)), data, null, options with { StopAtStep = 5 }, split).Train();
        Assert.Equal(5, first.Steps);
        Assert.True(File.Exists(Path.Combine(split, "adapter_model.safetensors")));
        Assert.Equal(5, Reporting.TrainingLog.Read(Path.Combine(split, "train_log.jsonl")).Max(r => r.Step));
        var rest = new Trainer(model, Method("lora", model, dropout: 0.2f), Task(Method("lora", model)), data, null, options, split).Train();
        Assert.Equal(12, rest.Steps);
        Assert.Equal(full.Losses, first.Losses.Concat(rest.Losses));
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(split, "adapter_model.safetensors")));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, Method("lora", model), Task(Method("lora", model)), data, null, options with { StopAtStep = 0 }, Path.Combine(_dir, "bad")).Train());
    }

    /// <summary>
    /// Full fine-tuning's weight decay shrinks W + ΔW toward zero, as fine-tuning W itself (the Hugging Face Trainer, Petrov et al.'s code):
    /// after one AdamW step the two settings' ΔW differ by exactly −lr·wd·W, and likewise the embeddings' and head's deltas, while
    /// biases and norm weights are exempt (the Trainer's rule); DecayEmbeddings false exempts the embeddings too (minGPT's).
    /// DecayTowardPretrained and DecayEmbeddings survive a save and load.
    /// </summary>
    [Fact]
    public void FullFineTuningDecaysTheFullWeightTowardZero()
    {
        var model = ModelLoader.Load(TinyModels.Memorising);
        var options = new TrainerOptions { MaxSteps = 1, BatchSize = 3, LearningRate = 0.01, WeightDecay = 0.5, Schedule = ScheduleKind.Constant };
        FullFineTuningMethod Trained(bool towardPretrained, string dir, bool decayEmbeddings = true)
        {
            var m = FullFineTuningMethod.Create(new FullFineTuningConfig(DecayTowardPretrained: towardPretrained, DecayEmbeddings: decayEmbeddings), model);
            new Trainer(model, m, Task(m), Memorise, null, options, Path.Combine(_dir, dir)).Train();
            return m;
        }
        var towardZero = Trained(false, "zero");
        var towardPretrained = Trained(true, "pretrained");
        foreach (var ((layer, dz), (_, dp)) in towardZero.Deltas.Zip(towardPretrained.Deltas))
        {
            var w = model.LinearWeight(layer.Name).Span;
            for (int i = 0; i < w.Length; i++) Assert.Equal(-0.01f * 0.5f * w[i], dz.Span[i] - dp.Span[i], 1e-6f);
        }
        // Every other parameter trains too: the matrices (embeddings, head) decay as W does; biases and norm weights are not decayed.
        Assert.Equal(model.OtherParameters.Count, towardZero.ParameterDeltas.Count);
        foreach (var ((p, dz), (_, dp)) in towardZero.ParameterDeltas.Zip(towardPretrained.ParameterDeltas))
        {
            var w = model.OtherParameter(p.Name).Span;
            for (int i = 0; i < w.Length; i++) Assert.Equal(p.Shape.Count >= 2 ? -0.01f * 0.5f * w[i] : 0f, dz.Span[i] - dp.Span[i], 1e-6f);
        }
        Assert.Contains(towardZero.ParameterDeltas, d => d.Parameter.Shape.Count == 1 && d.Delta.Span.ToArray().Any(x => x != 0));   // a bias did train
        // minGPT's rule (Petrov et al.'s code): the embedding tables are spared too, an untied head is not.
        var spared = Trained(false, "spared", decayEmbeddings: false);
        Assert.Contains(spared.ParameterDeltas, d => d.Parameter.Kind == ParameterKind.Embedding);
        foreach (var ((p, ds), (_, dp)) in spared.ParameterDeltas.Zip(towardPretrained.ParameterDeltas))
        {
            var w = model.OtherParameter(p.Name).Span;
            for (int i = 0; i < w.Length; i++) Assert.Equal(p.Kind == ParameterKind.Head ? -0.01f * 0.5f * w[i] : 0f, ds.Span[i] - dp.Span[i], 1e-6f);
        }
        Assert.False(((FullFineTuningMethod)AdapterDirectory.Load(Path.Combine(_dir, "spared"), model).Method).Config.DecayEmbeddings);
        Assert.True(((FullFineTuningMethod)AdapterDirectory.Load(Path.Combine(_dir, "zero"), model).Method).Config.DecayEmbeddings);
        // With an untied head (minGPT's): the head decays, the token and position tables do not.
        var untied = MethodGradientTests.Model("gpt2-tiny-petrov");
        var minGpt = FullFineTuningMethod.Create(new FullFineTuningConfig(DecayEmbeddings: false), untied);
        var exempt = minGpt.ParameterDeltas.Where(d => minGpt.ExemptFromWeightDecay().Contains(d.Delta)).Select(d => d.Parameter.Name).ToHashSet();
        Assert.Contains("transformer.wte.weight", exempt);
        Assert.Contains("transformer.wpe.weight", exempt);
        Assert.DoesNotContain("lm_head.weight", exempt);
        Assert.Contains("transformer.ln_f.bias", exempt);
        var loaded = AdapterDirectory.Load(Path.Combine(_dir, "pretrained"), model).Method;
        Assert.True(((FullFineTuningMethod)loaded).Config.DecayTowardPretrained);
        Assert.False(((FullFineTuningMethod)AdapterDirectory.Load(Path.Combine(_dir, "zero"), model).Method).Config.DecayTowardPretrained);
        // Adafactor has no decay offsets: decaying the full weights with it is an error that says what to do.
        var full = FullFineTuningMethod.Create(new FullFineTuningConfig(), model);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, full, Task(full), Memorise, null, options with { Optimizer = OptimizerKind.Adafactor }, Path.Combine(_dir, "adafactor")).Train());
        Assert.Contains("only AdamW", e.Message);
    }

    [Fact]
    public void ModelDropoutActsWhileTrainingAndResumesExactly()
    {
        // gpt2-tiny's config.json names no dropouts: GPT-2's defaults, 0.1 each, act in training mode.
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("gpt2-tiny"));
        var data = Memorise.ToArray();
        var options = new TrainerOptions { MaxSteps = 8, BatchSize = 2, LearningRate = 0.01, CheckpointEvery = 2, ModelDropout = true };
        var full = new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), data, null, options, Path.Combine(_dir, "whole")).Train().Losses;
        var plain = new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), data, null, options with { ModelDropout = false }, Path.Combine(_dir, "plain")).Train().Losses;
        Assert.NotEqual(plain[0], full[0]);   // the first step's parameters are the same: only the model's dropout differs

        var split = Path.Combine(_dir, "split");
        using var cts = new CancellationTokenSource();
        var first = new List<double>();
        Assert.ThrowsAny<OperationCanceledException>(() => new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), data, null, options, split)
            .Train(new InlineProgress<TrainingProgress>(p => { first.Add(p.Loss); if (p.Step == 4) cts.Cancel(); }), cts.Token));
        var rest = new Trainer(model, Method("prompt", model), Task(Method("prompt", model)), data, null, options, split).Train().Losses;
        Assert.Equal(full.Take(4), first);
        Assert.Equal(full.Skip(4), rest);   // the dropout stream's state is in the checkpoint
    }

    [Fact]
    public void DeepPromptsWithAHeadLearnToClassify()
    {
        var model = ModelLoader.Load(TinyModels.Memorising);
        Example[] data =
        [
            Example.Of(("text", "good fun"), ("answer", "pos")), Example.Of(("text", "bad end"), ("answer", "neg")),
            Example.Of(("text", "great"), ("answer", "pos")), Example.Of(("text", "dull plot"), ("answer", "neg")),
        ];
        var m = DeepPromptMethod.Create(new DeepPromptConfig(4, NumLabels: 2), model, new Rng(2));
        var task = new TuningTask(Template.Parse("{text} is{answer}"), new LetterEncoder(), new RenderOptions { Verbalizer = Verbalizer.Parse("pos=yes,neg=no") });
        var result = new Trainer(model, m, task, data, data, new TrainerOptions { MaxSteps = 150, BatchSize = 4, LearningRate = 0.03, Schedule = ScheduleKind.Constant }, _dir).Train();
        Assert.Equal(1.0, result.FinalEval!.Metrics["accuracy"]);
        Assert.True(result.Losses[^1] < 0.05, $"head loss {result.Losses[^1]}");
        // the head is saved and comes back with the adapter
        var loaded = Adapters.AdapterDirectory.Load(_dir, model).Method;
        Assert.NotNull(((DeepPromptMethod)loaded).Classifier);
        Assert.Equal(1.0, Evaluator.Evaluate(model, loaded, task, data).Metrics["accuracy"]);
    }

    [Fact]
    public void EarlyStoppingEndsARunThatStopsImprovingAndKeepsTheBestAdapter()
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("gpt2-tiny"));
        var m = Method("prompt", model);
        // A learning rate too small to move float32 parameters: the eval loss never improves after the first evaluation.
        var options = new TrainerOptions { MaxSteps = 40, BatchSize = 3, LearningRate = 1e-30, EvalEvery = 2, EarlyStoppingPatience = 3, Schedule = ScheduleKind.Constant };
        var result = new Trainer(model, m, Task(m), Memorise, Memorise, options, _dir).Train();
        Assert.True(result.StoppedEarly);
        Assert.Equal(8, result.Steps);            // best at step 2, then 3 evaluations without improvement
        Assert.Equal(2, result.BestStep);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "best", "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(_dir, "adapter_model.safetensors")));
        var evals = Reporting.TrainingLog.Read(Path.Combine(_dir, "train_log.jsonl")).Where(r => r.Metrics.ContainsKey("eval_loss")).ToList();
        Assert.Equal([2L, 4L, 6L, 8L], evals.Select(r => r.Step));
    }

    [Fact]
    public void BadSetupsAreClearErrors()
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("gpt2-tiny"));
        var prompt = Method("prompt", model);
        var wrongSlots = new TuningTask(Template.Parse("{soft:2}{text} is{answer}"), new LetterEncoder(), new RenderOptions());
        Assert.Contains("places 2 virtual tokens", Assert.Throws<ArgumentException>(() => new Trainer(model, prompt, wrongSlots, Memorise, null, new TrainerOptions(), _dir)).Message);
        var empty = Assert.Throws<DataFormatException>(() => new Trainer(model, prompt, Task(prompt), [], null, new TrainerOptions(), _dir));
        Assert.Contains("training data: no examples", empty.Message);
        var lora = Method("lora", model);
        Assert.Throws<ArgumentException>(() => new Trainer(model, lora, Task(prompt), Memorise, null, new TrainerOptions(), _dir));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trainer(model, prompt, Task(prompt), Memorise, null, new TrainerOptions { LearningRate = 0 }, _dir));
    }

    [Fact]
    public void ANonFiniteLossStopsTrainingWithoutTouchingTheParameters()
    {
        var model = ModelLoader.Load(MethodGradientTests.ModelDir("gpt2-tiny"));
        var m = Method("prompt", model);
        ((PromptTuningMethod)m).Embeddings.Span[3] = float.NaN;
        var snapshot = ((PromptTuningMethod)m).Embeddings.ToArray();
        var e = Assert.Throws<TrainingDivergedException>(() =>
            new Trainer(model, m, Task(m), Memorise, null, new TrainerOptions { MaxSteps = 20, MaxNonFiniteSteps = 3 }, _dir).Train());
        Assert.Contains("3 consecutive steps", e.Message);
        Assert.Equal(snapshot, ((PromptTuningMethod)m).Embeddings.ToArray());
    }
}
