namespace SoftPrompt.Tensors.Optim;

/// <summary>Optimizer-specific hyperparameters of a parameter group (betas, momentum, …); each optimizer has its own record.</summary>
public abstract record OptimizerOptions;

/// <summary>
/// Parameters sharing hyperparameters, like an entry of PyTorch's <c>optimizer.param_groups</c>.
/// Values left null take the optimizer's defaults when the optimizer is built.
/// </summary>
public sealed class ParamGroup
{
    /// <param name="weightDecayOffsets">Per parameter, null or a tensor of its shape: decay then shrinks p + offset instead of p (see <see cref="WeightDecayOffsets"/>).</param>
    public ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weightDecay = null, OptimizerOptions? options = null,
        IReadOnlyList<Tensor?>? weightDecayOffsets = null)
    {
        Parameters = parameters.ToArray();
        if (weightDecayOffsets is not null)
        {
            if (weightDecayOffsets.Count != Parameters.Count)
                throw new ArgumentException($"ParamGroup: {weightDecayOffsets.Count} weight-decay offsets for {Parameters.Count} parameters.", nameof(weightDecayOffsets));
            for (int i = 0; i < Parameters.Count; i++)
                if (weightDecayOffsets[i] is { } o && o.Length != Parameters[i].Length)
                    throw new ArgumentException($"ParamGroup: the weight-decay offset of {Parameters[i]} has {o.Length} elements, the parameter {Parameters[i].Length}.", nameof(weightDecayOffsets));
            WeightDecayOffsets = [.. weightDecayOffsets];
        }
        RequestedLr = lr;
        RequestedWeightDecay = weightDecay;
        RequestedOptions = options;
    }

    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The learning rate the next <see cref="Optimizer.Step"/> uses; a schedule sets it each step.</summary>
    public double Lr { get; set; }

    /// <summary>The learning rate the group started with; schedules multiply it.</summary>
    public double InitialLr { get; internal set; }

    public double WeightDecay { get; set; }

    /// <summary>
    /// Null (plain decay, p ← p·(1 − lr·wd)), or per parameter an offset W that makes decay shrink p + W instead:
    /// p ← p − lr·wd·(p + W). A delta parametrisation (the trained p is ΔW on a frozen W) decays its full weight W + ΔW
    /// toward zero this way, as fine-tuning W itself would; with no offset a delta decays toward W.
    /// </summary>
    public IReadOnlyList<Tensor?>? WeightDecayOffsets { get; }

    /// <summary>The optimizer's hyperparameters for this group (replace with <c>with</c> to change them).</summary>
    public OptimizerOptions Options { get; set; } = null!;

    internal double? RequestedLr { get; }
    internal double? RequestedWeightDecay { get; }
    internal OptimizerOptions? RequestedOptions { get; }
}
