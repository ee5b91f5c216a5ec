using System.CommandLine;
using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tuning.Training;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt experiment petrov --setup 1|2|3|4 [--scale small|full] --out DIR [--retrain]</c>: reproduces a
/// setup of Petrov, Torr and Bibi (2023) with our engine; writes setupN-results.md / .json and curves.
/// </summary>
internal static class ExperimentCommand
{
    public static Command Create()
    {
        var setup = new Option<int>("--setup") { Description = "1, 2, 3 or 4 (docs/petrov.md).", Required = true };
        var scale = new Option<string>("--scale") { Description = "small (fits about 30 minutes on 2 cores) or full (the authors' iteration counts; checkpoints let it span sessions).", DefaultValueFactory = _ => "small" };
        var output = new Option<string>("--out") { Description = "Output directory (pretraining checkpoints, adapters, results, curves). Rerun with the same DIR and settings to continue an interrupted pretraining or phase from its checkpoint.", Required = true }.MustBeDirectoryPath();
        var retrain = new Option<bool>("--retrain") { Description = "Pretrain even when a shipped or earlier pretrained model exists." };
        var items = new Option<int>("--test-items") { Description = "Test items per evaluation.", DefaultValueFactory = _ => 3_200 }.MustBeAtLeast(1);
        var phases = new Option<string?>("--phases") { Description = "Run only the phases named by these comma-separated words: a phase's whole name selects it alone (\"prefix on ascending\"), any other word every phase whose name contains it (lora, histogram)." };
        var steps = new Option<int?>("--steps") { Description = "Small scale: train each selected phase this many steps instead of the setup's count (a prefix's learning rate follows: the authors' × their steps / these)." }.MustBeAtLeast(1);
        var stopAt = new Option<int?>("--stop-at-step") { Description = "End each selected phase this run at this step of its count, checkpointed (its learning rate and curve as in the whole run); the report marks it in progress, and a rerun with the same --out continues it. For phases longer than a session." }.MustBeAtLeast(1);
        var seed = new Option<ulong>("--seed") { Description = "First initialisation seed of each adaptation (a prefix's N(0, 1) draw; small scale tries this and the next ones).", DefaultValueFactory = _ => 7UL };
        var pretrainOnly = new Option<bool>("--pretrain-only") { Description = "Only pretrain (resuming from DIR's checkpoint) and export the model; no adaptations." };
        var status = new Option<bool>("--status") { Description = "Show how far each stage of this setup and scale has come in DIR (steps, last exact match, training time, how many runs trained it) without training anything." };
        var petrov = new Command("petrov", "Petrov, Torr and Bibi (2023): what prefixes can and cannot learn, on synthetic digit tasks.") { setup, scale, output, retrain, items, pretrainOnly, phases, steps, stopAt, seed, status };
        petrov.SetAction(parse => CliErrors.Run(() =>
        {
            string s = parse.GetValue(scale)!;
            if (s is not ("small" or "full")) throw new ArgumentException($"--scale '{s}': small or full.");
            var definition = PetrovSetup.For(parse.GetValue(setup));
            if (parse.GetValue(phases) is { } only) definition = definition.SelectPhases(only, "--phases");
            if (parse.GetValue(steps) is int n)
            {
                if (s == "full") throw new ArgumentException("--steps sets the small scale's step counts; --scale full runs the authors'.");
                definition = definition with { Phases = [.. definition.Phases.Select(p => p with { Steps = n })] };
            }
            var experiment = new PetrovExperiment(definition, parse.GetValue(output)!, s == "full", ShippedModels(), parse.GetValue(items),
                line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(DateTime.Now.ToString("HH:mm:ss"))}[/] {Markup.Escape(line)}"), parse.GetValue(seed)) { StopAtStep = parse.GetValue(stopAt) };
            if (parse.GetValue(status))
            {
                string dir = parse.GetValue(output)!;
                if (!Directory.Exists(dir)) throw new ArgumentException($"--out '{dir}': no such directory, so no run to show.");
                WriteStatus(experiment.Progress(), definition.Number, s, dir);
                return 0;
            }
            using var runLock = RunDirectoryLock.Acquire(parse.GetValue(output)!);   // one run at a time in DIR: a second would interleave its checkpoints
            if (parse.GetValue(pretrainOnly))
            {
                string model = experiment.Pretrain(parse.GetValue(retrain));
                AnsiConsole.MarkupLine($"Pretrained model: [bold]{Markup.Escape(model)}[/]");
                return 0;
            }
            var results = experiment.Run(parse.GetValue(retrain));
            var table = new Table().AddColumn("phase").AddColumn("evaluated on").AddColumn(new TableColumn("accuracy").RightAligned()).AddColumn(new TableColumn("paper").RightAligned());
            foreach (var r in results)
                table.AddRow(Markup.Escape(r.Phase) + (r.InProgress ? $" [yellow](in progress: step {r.Steps:N0})[/]" : ""), r.EvaluatedOn, $"{r.Accuracy:F1}%", r.Reference is { } x ? $"{x}%" : "");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"The paper: {Markup.Escape(definition.Expectation)}.");
            return 0;
        }));
        return new Command("experiment", "Reproductions of the seed papers' experiments.") { petrov, MetalExperiment.Create() };
    }

    /// <summary>The --status lines: one a stage, in the order a run trains them — plain lines, not a table or wrapped markup, so that
    /// long paths and notes stay whole and the output greps.</summary>
    static void WriteStatus(IReadOnlyList<PetrovStageProgress> stages, int setupNumber, string scale, string outputDirectory)
    {
        Console.WriteLine($"setup {setupNumber}, {scale} scale, in {outputDirectory}:");
        foreach (var st in stages)
        {
            string steps = st.Done ? st.StepsText : $"{st.StepsText} steps";
            var parts = new List<string>();
            if (st.FinalExactMatch is { } final) parts.Add($"exact match {final:F1} % at step {st.Reached:N0} ({st.FinalTestItems:N0} test items)");
            else if (st.ExactMatch is { } m) parts.Add($"exact match {m:F1} % at step {st.ExactMatchStep:N0} (320 test items)");
            if (st.Seconds is not null) parts.Add($"{st.SecondsText} of training" + (st.Sessions > 0 ? $" in {st.Sessions} run{(st.Sessions == 1 ? "" : "s")} (a run: one process that trained, from the checkpoint on)" : ""));
            if (st.PaceText is { Length: > 0 } pace) parts.Add(pace);
            if (st.Folder is { } f) parts.Add(Path.GetRelativePath(outputDirectory, f) is var r && !r.StartsWith("..") ? r : f);
            if (st.Note is { } note) parts.Add(note);
            Console.WriteLine($"  {st.Stage}: {steps}" + (parts.Count > 0 ? "; " + string.Join("; ", parts) : ""));
        }
    }

    /// <summary>The shipped pretrained models (models/petrov in the repository), found from the working directory or the binaries.</summary>
    internal static string? ShippedModels() => FindAbove(Path.Combine("models", "petrov"));

    /// <summary>The folder at relativePath under the working directory or the binaries' folder or any folder above them, or null.</summary>
    internal static string? FindAbove(string relativePath)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, relativePath))) return Path.Combine(d.FullName, relativePath);
        return null;
    }
}
