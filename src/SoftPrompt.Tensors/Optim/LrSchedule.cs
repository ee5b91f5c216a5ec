namespace SoftPrompt.Tensors.Optim;

/// <summary>
/// A learning-rate schedule: a multiplier of each group's initial learning rate as a function of the
/// 0-based optimizer step, with Hugging Face transformers' semantics (<c>get_*_schedule_with_warmup</c>,
/// a LambdaLR): before step k call <c>schedule.Apply(optimizer, k)</c>, so the first step uses the
/// multiplier at 0 (zero during warmup).
/// </summary>
public sealed class LrSchedule
{
    readonly Func<long, double> _multiplier;

    LrSchedule(string description, Func<long, double> multiplier)
    {
        Description = description;
        _multiplier = multiplier;
    }

    public string Description { get; }

    /// <summary>Builds a schedule from any multiplier function.</summary>
    public static LrSchedule FromFunction(string description, Func<long, double> multiplier) => new(description, multiplier);

    public double Multiplier(long step) => _multiplier(step);

    /// <summary>Sets every group's learning rate for step <paramref name="step"/>.</summary>
    public void Apply(Optimizer optimizer, long step) => optimizer.SetLrMultiplier(Multiplier(step));

    public override string ToString() => Description;

    public static LrSchedule Constant() => new("constant", _ => 1.0);

    /// <summary>Linear from 0 to 1 over <paramref name="warmupSteps"/>, then 1.</summary>
    public static LrSchedule ConstantWithWarmup(long warmupSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        return new($"constant with {warmupSteps} warmup steps", step => step < warmupSteps ? Warmup(step, warmupSteps) : 1.0);
    }

    /// <summary>Linear warmup to 1, then linear decay to 0 at <paramref name="totalSteps"/> (and 0 after).</summary>
    public static LrSchedule LinearWithWarmup(long warmupSteps, long totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        return new($"linear, {warmupSteps} warmup of {totalSteps} steps", step => step < warmupSteps
            ? Warmup(step, warmupSteps)
            : Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmupSteps)));
    }

    /// <summary>Linear warmup to 1, then a cosine decay: ½(1 + cos(π·2·cycles·progress)); 0.5 cycles ends at 0.</summary>
    public static LrSchedule CosineWithWarmup(long warmupSteps, long totalSteps, double numCycles = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        return new($"cosine ({numCycles} cycles), {warmupSteps} warmup of {totalSteps} steps", step =>
        {
            if (step < warmupSteps) return Warmup(step, warmupSteps);
            double progress = (double)(step - warmupSteps) / Math.Max(1, totalSteps - warmupSteps);
            return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * numCycles * 2.0 * progress)));
        });
    }

    static double Warmup(long step, long warmupSteps) => (double)step / Math.Max(1, warmupSteps);
}
