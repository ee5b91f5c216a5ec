using SoftPrompt.Tensors.Optim;

namespace SoftPrompt.Tuning.Training;

/// <summary>
/// The NaN guard every trainer's update goes through: an update whose loss or gradient norm is not finite is skipped
/// (the gradients cleared, the parameters as they were); after maxInARow such updates in a row training stops with
/// <see cref="TrainingDivergedException"/>, pointing at the intact checkpoint.
/// </summary>
public sealed class GuardedUpdate(int maxInARow, string what, string checkpointDir)
{
    int _inARow;

    /// <summary>Updates skipped so far.</summary>
    public int Skipped { get; private set; }

    /// <summary>Applies the schedule for 1-based step and steps the optimizer, or skips a non-finite update.</summary>
    public void Apply(Optimizer optimizer, LrSchedule schedule, long step, double loss, float gradientNorm)
    {
        if (!double.IsFinite(loss) || !float.IsFinite(gradientNorm))
        {
            optimizer.ZeroGrad();
            Skipped++;
            if (++_inARow >= maxInARow)
                throw new TrainingDivergedException($"{what} diverged: {_inARow} consecutive steps with a non-finite loss or gradient (last loss {loss}, gradient norm {gradientNorm}) at step {step}. Lower the learning rate; the last checkpoint in {checkpointDir} is intact.");
            return;
        }
        _inARow = 0;
        schedule.Apply(optimizer, step - 1);
        optimizer.Step();
    }
}
