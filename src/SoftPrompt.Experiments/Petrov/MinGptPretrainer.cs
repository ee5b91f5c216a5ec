using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Optim;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// Pretrains a <see cref="MinGpt"/> from scratch on a mix of tasks, as the authors' minGPT trainer:
/// a fresh batch from the <see cref="PetrovSampler"/> each step, mean cross-entropy on the output
/// tokens, backward, clip the global gradient norm, AdamW with decay on Linear weights only.
/// <see cref="PretrainCheckpoint"/> saves and restores everything a step depends on, so a run split
/// across sessions gives the same weights, bit for bit, as one run.
/// </summary>
public sealed class MinGptPretrainer
{
    readonly Tensor[] _parameters;

    public MinGpt Model { get; }
    public PetrovSampler Sampler { get; }
    public PretrainOptions Options { get; }
    public AdamW Optimizer { get; }

    /// <summary>Optimizer steps taken so far.</summary>
    public long Step { get; internal set; }

    /// <summary>Seconds of training so far, over every session a checkpoint carried it through (the runner adds each session's).</summary>
    public double ElapsedSeconds { get; set; }

    public MinGptPretrainer(MinGptConfig config, IReadOnlyList<PetrovTask> tasks, PretrainOptions options)
    {
        Options = options;
        Model = new MinGpt(config, options.Seed);
        Model.Train();
        Sampler = new PetrovSampler(tasks, options.DataSeed);
        var (decay, noDecay) = Model.WeightDecayGroups();
        Optimizer = new AdamW([new ParamGroup(decay, weightDecay: options.WeightDecay), new ParamGroup(noDecay, weightDecay: 0.0)],
            options.Lr, new AdamWOptions(options.Beta1, options.Beta2), options.WeightDecay);
        _parameters = [.. Model.Parameters()];
    }

    /// <summary>One optimizer step on a fresh batch; returns the batch's loss (before the update).</summary>
    public float TrainStep()
    {
        var batch = Sampler.NextBatch(Options.BatchSize, Model.Config.PrefixPadding);
        Optimizer.ZeroGrad();
        float loss;
        using (TensorScope.Begin())
        {
            var l = Model.Loss(batch);
            loss = l.Item();
            l.Backward();
        }
        GradClip.ClipGradNorm(_parameters, Options.MaxGradNorm);
        Optimizer.Step();
        Step++;
        return loss;
    }

    /// <summary>Runs <paramref name="steps"/> steps; <paramref name="onStep"/> sees (step, loss) after each.</summary>
    public void Train(long steps, Action<long, float>? onStep = null)
    {
        for (long i = 0; i < steps; i++)
        {
            float loss = TrainStep();
            onStep?.Invoke(Step, loss);
        }
    }
}
