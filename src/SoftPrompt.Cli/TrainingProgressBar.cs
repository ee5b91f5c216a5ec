using SoftPrompt.Tuning.Training;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>Runs a trainer under a progress bar: step, loss, learning rate and tokens/s, or the last evaluation.</summary>
internal static class TrainingProgressBar
{
    public static TrainingResult Run(Trainer trainer, int maxSteps, string title = "training") => Run(trainer.Train, maxSteps, title);

    /// <summary>Any training loop that reports <see cref="TrainingProgress"/> (the meta-trainer's too).</summary>
    public static TrainingResult Run(Func<IProgress<TrainingProgress>, CancellationToken, TrainingResult> train, int maxSteps, string title = "training")
    {
        TrainingResult result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var bar = ctx.AddTask(title, maxValue: maxSteps);
                var progress = new InlineProgress<TrainingProgress>(p =>
                {
                    bar.Value = p.Step;
                    bar.Description = p.Eval is null
                        ? $"step {p.Step}/{p.MaxSteps} loss {p.Loss:F4} lr {p.LearningRate:G3} {p.TokensPerSecond:F0} tok/s"
                        : $"step {p.Step} eval loss {p.Eval.Loss:F4} {string.Join(" ", p.Eval.Metrics.Select(kv => $"{kv.Key} {kv.Value:F3}"))}";
                });
                result = train(progress, CancellationToken.None);
            });
        return result;
    }
}
