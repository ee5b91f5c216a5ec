namespace SoftPrompt.Tensors.Optim;

/// <summary>Optimizer-specific hyperparameters of a parameter group (betas, momentum, …); each optimizer has its own record.</summary>
public abstract record OptimizerOptions;

/// <summary>
/// Parameters sharing hyperparameters, like an entry of PyTorch's <c>optimizer.param_groups</c>.
/// Values left null take the optimizer's defaults when the optimizer is built.
/// </summary>
public sealed class ParamGroup
{
    public ParamGroup(IEnumerable<Tensor> parameters, double? lr = null, double? weightDecay = null, OptimizerOptions? options = null)
    {
        Parameters = parameters.ToArray();
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

    /// <summary>The optimizer's hyperparameters for this group (replace with <c>with</c> to change them).</summary>
    public OptimizerOptions Options { get; set; } = null!;

    internal double? RequestedLr { get; }
    internal double? RequestedWeightDecay { get; }
    internal OptimizerOptions? RequestedOptions { get; }
}
