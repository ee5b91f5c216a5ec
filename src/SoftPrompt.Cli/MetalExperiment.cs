using System.CommandLine;
using SoftPrompt.Experiments.MetaL;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt experiment metal --pretrain-only --out DIR [--steps N] [--stop-at-step S]</c>: MetaL-Prompt's testbed, the
/// symbol world: pretrains (or continues) its target LM in context, reporting exact match on unseen rules with 8
/// demonstrations against zero-shot, and exports it to DIR/model when done.
/// </summary>
internal static class MetalExperiment
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output directory (checkpoint/, pretrain_log.jsonl, curves.svg, model/). Rerun to continue.", Required = true }.MustBeDirectoryPath();
        var pretrainOnly = new Option<bool>("--pretrain-only") { Description = "Pretrain the target LM only (the meta-learning report comes with the shipped target).", Required = true };
        var steps = new Option<int>("--steps") { Description = "Pretraining steps of 32 episodes (a new run only; a resumed one keeps its own).", DefaultValueFactory = _ => 20_000 }.MustBeAtLeast(1);
        var stopAt = new Option<int?>("--stop-at-step") { Description = "Stop at this step, checkpointed; rerun to go on." }.MustBeAtLeast(1);
        var cmd = new Command("metal", "MetaL-Prompt's testbed: a world of symbol-mapping tasks whose rule must be read from demonstrations.") { output, pretrainOnly, steps, stopAt };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            if (!parse.GetValue(pretrainOnly)) throw new ArgumentException("experiment metal: only --pretrain-only runs so far (the meta-learning report needs the pretrained target).");
            string dir = parse.GetValue(output)!;
            using var runLock = Tuning.Training.RunDirectoryLock.Acquire(dir);
            var run = SymbolWorldTarget.Pretrain(dir, new IclPretrainOptions(Steps: parse.GetValue(steps)), parse.GetValue(stopAt),
                say: line => AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(line)}"));
            AnsiConsole.MarkupLine($"step {run.Step:N0} of {run.Options.Steps:N0}; {run.ElapsedSeconds / 3600:F2} h of training" +
                (run.Step >= run.Options.Steps ? $"; model in {Markup.Escape(SymbolWorldTarget.ModelDir(dir))}" : "; rerun to continue"));
            return 0;
        }));
        return cmd;
    }
}
