using System.CommandLine;
using SoftPrompt.Experiments.MetaL;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt experiment metal [--pretrain-only | --tasks-only | --pgm PGM] [--scale small|full] --out DIR</c>: MetaL-Prompt's
/// testbed, the symbol world. --pretrain-only pretrains (or continues) its target LM in context, reporting exact match on
/// unseen rules with 8 demonstrations against zero-shot, and exports it to DIR/model; --tasks-only writes the task
/// collection (metal train's input); --pgm reports a given PGM; with none of them, the report against the baselines.
/// </summary>
internal static class MetalExperiment
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Output directory (checkpoint/, pretrain_log.jsonl, curves.svg, model/). Rerun to continue.", Required = true }.MustBeDirectoryPath();
        var pretrainOnly = new Option<bool>("--pretrain-only") { Description = "Pretrain (or continue) the target LM only, and export it to DIR/model." };
        var scale = new Option<string>("--scale") { Description = "The report: small (about 11 minutes on 2 cores) or full (more tasks, longer meta-training, three seeds).", DefaultValueFactory = _ => "small" };
        var model = new Option<string?>("--model") { Description = "The target LM for the report (default: the shipped models/metal/symbol-world-target, else DIR/model)." };
        var steps = new Option<int>("--steps") { Description = "Pretraining steps of 32 episodes (a new run only; a resumed one keeps its own; the shipped target ran 8,000).", DefaultValueFactory = _ => 8_000 }.MustBeAtLeast(1);
        var stopAt = new Option<int?>("--stop-at-step") { Description = "Stop at this step, checkpointed; rerun to go on." }.MustBeAtLeast(1);
        var lr = new Option<double>("--lr") { Description = "Pretraining learning rate (a new run only).", DefaultValueFactory = _ => 1e-3 };
        var copyShare = new Option<double>("--copy-share") { Description = "Share of a new run's training rows whose map is the identity (a copying curriculum).", DefaultValueFactory = _ => 0.0 };
        var tasksOnly = new Option<bool>("--tasks-only") { Description = "Write the scale's task collection to DIR/tasks (train/, validation/, test/, test-heldout/: metal train's --tasks) and stop." };
        var pgm = new Option<string?>("--pgm") { Description = "Report this PGM (e.g. models/metal/symbol-world-pgm) against zero-shot and in-context learning on the scale's meta-test tasks, instead of meta-training new ones." };
        var orders = new Option<string?>("--orders") { Description = "Comma-separated training orders for a new pretraining run (identity, reverse, rotateleft, …; default identity)." };
        var cmd = new Command("metal", "MetaL-Prompt's testbed: a world of symbol-mapping tasks whose rule must be read from demonstrations.") { output, pretrainOnly, tasksOnly, pgm, scale, model, steps, stopAt, lr, orders, copyShare };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(output)!;
            using var runLock = Tuning.Training.RunDirectoryLock.Acquire(dir);
            void Say(string line) => AnsiConsole.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] {Markup.Escape(line)}");
            if (parse.GetValue(tasksOnly))
            {
                AnsiConsole.MarkupLine($"tasks in {Markup.Escape(MetalWorldExperiment.WriteTasks(dir, MetalWorldScale.Parse(parse.GetValue(scale)!)))}");
                return 0;
            }
            if (!parse.GetValue(pretrainOnly))
            {
                string target = parse.GetValue(model) ?? MetalQuickstart.FindShipped(MetalQuickstart.TargetFolder) ?? SymbolWorldTarget.ModelDir(dir);
                if (!File.Exists(Path.Combine(target, "config.json")))
                    throw new ArgumentException($"{target}: no target LM; pretrain one first (experiment metal --pretrain-only --out {dir}) or pass --model.");
                if (parse.GetValue(pgm) is { } pgmDir)
                {
                    MetalWorldExperiment.EvaluatePgm(target, pgmDir, dir, MetalWorldScale.Parse(parse.GetValue(scale)!), Say);
                    AnsiConsole.MarkupLine($"report in {Markup.Escape(Path.Combine(dir, "metal-pgm-results.md"))}");
                    return 0;
                }
                MetalWorldExperiment.Run(target, dir, MetalWorldScale.Parse(parse.GetValue(scale)!), Say);
                AnsiConsole.MarkupLine($"report in {Markup.Escape(Path.Combine(dir, "metal-results.md"))}");
                return 0;
            }
            SymbolOrder[]? trainOrders = parse.GetValue(orders)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(o => Enum.TryParse<SymbolOrder>(o, ignoreCase: true, out var v) ? v
                    : throw new ArgumentException($"--orders '{o}': one of {string.Join(", ", Enum.GetValues<SymbolOrder>()).ToLowerInvariant()}.")).ToArray();
            var run = SymbolWorldTarget.Pretrain(dir, new IclPretrainOptions(Steps: parse.GetValue(steps), Lr: parse.GetValue(lr), Orders: trainOrders, CopyShare: parse.GetValue(copyShare)), parse.GetValue(stopAt), say: Say);
            AnsiConsole.MarkupLine($"step {run.Step:N0} of {run.Options.Steps:N0}; {run.ElapsedSeconds / 3600:F2} h of training" +
                (run.Step >= run.Options.Steps ? $"; model in {Markup.Escape(SymbolWorldTarget.ModelDir(dir))}" : "; rerun to continue"));
            return 0;
        }));
        return cmd;
    }
}
