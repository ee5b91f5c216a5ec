using System.Text.Json;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Analysis;
using SoftPrompt.Experiments.Petrov;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Training;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt quickstart [--model DIR] [--task T] [--method M] [--steps N] [--out DIR]</c>: the whole system in
/// one command, on a model shipped in models/petrov (no download): load it, tune a prefix for a task with a
/// progress bar, save the adapter, load it back, evaluate it against the model alone, generate with it, and
/// run the attention-shift diagnostic. With --metal, the prompt-generation service instead (<see cref="MetalQuickstart"/>). Writes DIR/adapter, DIR/attention, DIR/test.jsonl (the test items, for the commands
/// it suggests next: eval, generate, analyze attention on the same model and adapter) and DIR/quickstart.md.
/// </summary>
internal static class QuickstartCommand
{
    /// <summary>The shipped models the quickstart prefers, in order: setup 2's knows four tasks a prefix can select; setup 1's only sorts ascending.</summary>
    static readonly string[] DefaultModels = ["L1-H4-d256-noln1-pad1-ascending+descending+add1+add2", "L1-H1-d96-pad1-ascending"];

    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "A Petrov model directory (default: the first shipped one of models/petrov/" + string.Join(", ", DefaultModels) + ")." };
        var task = new Option<string>("--task") { Description = "ascending, descending, add1, add2, ascending_add1 or histogram.", DefaultValueFactory = _ => "descending" };
        var method = new Option<string>("--method") { Description = "attn-prefix (Petrov et al.'s prefix), prefix (Li & Liang), prompt or lora; any method of train's --method runs.", DefaultValueFactory = _ => "attn-prefix" };
        var steps = new Option<int>("--steps") { Description = "Optimizer updates (batch 64).", DefaultValueFactory = _ => 1_500 };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default: the method's, as train's --lr)." };
        var length = new Option<int?>("--prefix-length") { Description = "Prefix or prompt length P (default: the model's pad positions, softprompt_prefix_padding in its config.json, or 1)." }.MustBeAtLeast(1);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the (first) adapter initialisation.", DefaultValueFactory = _ => 7UL };
        var seeds = new Option<int>("--seeds") { Description = "Initialisations to train (seed, seed+1, …); the best on 320 training-split items is kept — a prefix's outcome depends on its N(0, 1) draw.", DefaultValueFactory = _ => 3 }.MustBeAtLeast(1);
        var items = new Option<int>("--test-items") { Description = "Test items per evaluation.", DefaultValueFactory = _ => 3_200 }.MustBeAtLeast(1);
        var output = new Option<string>("--out") { Description = "Output directory.", DefaultValueFactory = _ => Path.Combine("runs", "quickstart") }.MustBeDirectoryPath();
        var metal = new Option<bool>("--metal") { Description = "Language model as a service instead: a new task's 8 examples → a prompt in one pass of the shipped PGM (models/metal) → scored against zero-shot and in-context learning → a stored adapter → a request (--model: the target, --pgm, --seed, --test-items, --out apply)." };
        var pgm = new Option<string?>("--pgm") { Description = "With --metal: a PGM directory for --model (default: models/metal/" + MetalQuickstart.PgmFolder + ")." };
        var cmd = new Command("quickstart", "Tune, save, evaluate, generate with and diagnose a prefix on a shipped model, in a few minutes (--metal: the prompt-generation service).")
            { model, task, method, steps, lr, length, seed, seeds, items, output, metal, pgm };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            if (parse.GetValue(metal))
                return MetalQuickstart.Run(parse.GetValue(model), parse.GetValue(pgm), parse.GetValue(output)!, parse.GetValue(seed), Math.Min(parse.GetValue(items), 256));
            var clock = Stopwatch.StartNew();
            string modelDir = parse.GetValue(model) ?? DefaultModel();
            var petrovTask = PetrovTasks.Parse(parse.GetValue(task)!);
            string kind = parse.GetValue(method)!, outDir = parse.GetValue(output)!, adapterDir = Path.Combine(outDir, "adapter");
            var lm = ModelLoader.Load(modelDir);
            int padding = Gpt2Export.PrefixPadding(modelDir);   // the zero pads the model was pretrained with; slots take the last of them
            int n = parse.GetValue(length) ?? Math.Max(1, padding);
            if (lm.Config.VocabSize != DigitSequences.VocabSize)
                throw new ArgumentException($"--model {modelDir}: vocabulary {lm.Config.VocabSize}, but the digit tasks need a {DigitSequences.VocabSize}-token model (models/petrov).");
            int tries = parse.GetValue(seeds);
            var definition = MethodRegistry.Get(kind);
            double rate = parse.GetValue(lr) ?? definition.DefaultLearningRate;
            AnsiConsole.MarkupLine($"[bold]1. model[/] {Markup.Escape(modelDir)}: {lm.Config.Layers} layer(s), {lm.Config.Heads} head(s), d = {lm.Config.HiddenSize}, {padding} pad position(s)");

            // 2. Tune on the task with a progress bar, one run per seed; the trainer writes each adapter in PEFT's
            //    layout; the one with the best exact match on a validation sample of the training split is kept.
            var validation = PetrovTuningData.ValidationSample(petrovTask);
            var examples = PetrovTuningData.Examples(petrovTask, Math.Min(parse.GetValue(steps) * 64, 64_000));
            using var runLock = RunDirectoryLock.Acquire(outDir);   // a second quickstart into the same --out would delete this one's adapters
            if (Directory.Exists(outDir)) foreach (var d in Directory.GetDirectories(outDir, "adapter*")) Directory.Delete(d, recursive: true);   // a quickstart starts afresh
            TrainerOptions options = null!;
            TrainingResult trained = null!;
            double bestValidation = -1;
            var seedNotes = new List<string>();
            for (int k = 0; k < tries; k++)
            {
                ulong s = parse.GetValue(seed) + (ulong)k;
                var tuning = definition.Create(MethodOptionsFor(n, lm), lm, new Rng(s));
                options = new TrainerOptions
                {
                    MaxSteps = parse.GetValue(steps), BatchSize = 64, LearningRate = rate, AdamBeta2 = 0.95, Schedule = ScheduleKind.Constant,
                    MaxGradNorm = 1f, LogEvery = 50, Seed = s,
                };
                AnsiConsole.MarkupLine($"[bold]2. tuning[/] an adapter ({Markup.Escape(kind)}, {tuning.TrainableParameters:N0} parameters, seed {s}) on [bold]{PetrovTasks.Name(petrovTask)}[/], {options.MaxSteps} steps of 64, lr {rate:G3}");
                string runDir = tries == 1 ? adapterDir : $"{adapterDir}-seed{s}";
                var result = TrainingProgressBar.Run(new Trainer(lm, tuning, PetrovTuningData.Task(tuning.VirtualTokens, padding), examples, null, options, runDir), options.MaxSteps);
                double v = PetrovEvaluation.Accuracy(lm, tuning, validation, padding);
                seedNotes.Add($"seed {s}: {v:F1}%");
                AnsiConsole.MarkupLine($"   validation exact match (320 training-split items): {v:F1}%");
                if (v > bestValidation)
                {
                    (bestValidation, trained) = (v, result);
                    if (runDir != adapterDir)
                    {
                        if (Directory.Exists(adapterDir)) Directory.Delete(adapterDir, recursive: true);
                        Directory.CreateDirectory(adapterDir);
                        foreach (var f in Directory.GetFiles(runDir)) File.Copy(f, Path.Combine(adapterDir, Path.GetFileName(f)));
                    }
                }
            }

            // 3. Load the saved adapter back: everything below uses the file, not the object in memory.
            var loaded = AdapterDirectory.Load(adapterDir, lm).Method;
            AnsiConsole.MarkupLine($"[bold]3. saved[/] the best ({string.Join(", ", seedNotes)}) as {Markup.Escape(Path.GetFullPath(adapterDir))} (last loss {(trained.Losses.Count > 0 ? trained.Losses[^1] : float.NaN):F4}) and loaded it back");

            // 4. Evaluate: exact match of all 10 output digits, the model alone vs with the adapter.
            var test = PetrovSampler.TestSet(petrovTask, parse.GetValue(items));
            double baseline = PetrovEvaluation.Accuracy(lm, null, test, padding), adapted = PetrovEvaluation.Accuracy(lm, loaded, test, padding);
            var table = new Table().AddColumn("evaluated on " + PetrovTasks.Name(petrovTask)).AddColumn(new TableColumn("exact match").RightAligned());
            table.AddRow("the model alone", $"{baseline:F1}%");
            table.AddRow($"with the {Markup.Escape(kind)} adapter", $"{adapted:F1}%");
            AnsiConsole.MarkupLine($"[bold]4. evaluated[/] on {test.Count:N0} test items");
            AnsiConsole.Write(table);

            // 5. Generate with the adapter.
            var shown = test.Take(3).ToArray();
            var completions = PetrovEvaluation.Complete(lm, loaded, shown, padding);
            AnsiConsole.MarkupLine("[bold]5. generated[/] (greedy)");
            var samples = new StringBuilder();
            for (int i = 0; i < shown.Length; i++)
            {
                string line = $"{DigitEncoder.Text(shown[i].Input)} → {DigitEncoder.Text(completions[i])} (expected {DigitEncoder.Text(shown[i].Output)})";
                samples.Append($"- `{line}`\n");
                AnsiConsole.WriteLine("   " + line);
            }

            // 6. The attention-shift diagnostic of the saved adapter.
            AnsiConsole.MarkupLine("[bold]6. attention-shift diagnostic[/] (64 test prompts)");
            var promptTask = PetrovTuningData.Task(loaded.VirtualTokens, padding);
            var prompts = test.Take(64).Select(e => PetrovTuningData.Prompt(promptTask, e)).ToArray();
            var report = AttentionShift.Analyze(lm, loaded, prompts);
            string attentionDir = Path.Combine(outDir, "attention");
            AttentionShiftFiles.Write(attentionDir, report, kind, prompts.Length, lm.Config.Layers, lm.Config.Heads);

            // 7. The test items as a data file, and the commands that take the shipped model and the saved adapter from here.
            string dataFile = Path.Combine(outDir, "test.jsonl");
            File.WriteAllLines(dataFile, test.Select(e => JsonSerializer.Serialize(new Dictionary<string, string>
                { ["input"] = DigitEncoder.Text(e.Input), ["answer"] = DigitEncoder.Text(e.Output) })));
            static string Quoted(string path) => path.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '$') ? $"'{path.Replace("'", "'\\''")}'" : path;
            string qModel = Quoted(modelDir), qAdapter = Quoted(adapterDir), qData = Quoted(dataFile);
            string[] next =
            [
                $"softprompt eval --model {qModel} --adapter {qAdapter} --data {qData} --max-new-tokens {PetrovExample.OutputLength}",
                $"softprompt generate --model {qModel} --adapter {qAdapter} --prompt {DigitEncoder.Text(test[0].Input)} --max-new-tokens {PetrovExample.OutputLength}",
                $"softprompt analyze attention --model {qModel} --adapter {qAdapter} --data {qData} --out {Quoted(Path.Combine(outDir, "attention-again"))}",
            ];
            AnsiConsole.MarkupLine($"[bold]7. next[/]: the test items are in {Markup.Escape(dataFile)}; the model's digit tokenizer serves every command:");
            foreach (var line in next) Console.WriteLine("   " + line);   // unwrapped, to copy

            File.WriteAllText(Path.Combine(outDir, "quickstart.md"), string.Create(CultureInfo.InvariantCulture,
                $"# SoftPrompt quickstart\n\nModel: `{modelDir}`. Task: {PetrovTasks.Name(petrovTask)}. Adapter: {kind}, {loaded.TrainableParameters:N0} parameters, " +
                $"{options.MaxSteps} steps of 64 at lr {rate:G3}; validation exact match per seed: {string.Join(", ", seedNotes)}; the best kept (`{adapterDir}`).\n\n| evaluated on {PetrovTasks.Name(petrovTask)} ({test.Count} test items) | exact match |\n|---|---:|\n" +
                $"| the model alone | {baseline:F1}% |\n| with the adapter | {adapted:F1}% |\n\nGenerated:\n\n{samples}\nAttention shift (`attention/`): largest direct change {report.MaxDirectChange:0.0e0}, " +
                $"largest total change {report.MaxTotalChange:F3}, mean prefix mass {report.MeanPrefixMass:F3}.\n\n{report.Verdict}\n\n" +
                $"Next (the test items are in `{dataFile}`):\n\n```\n{string.Join("\n", next)}\n```\n\nTook {clock.Elapsed.TotalSeconds:F0} s.\n"));
            AnsiConsole.MarkupLine($"Done in {clock.Elapsed.TotalSeconds:F0} s; summary in {Markup.Escape(Path.Combine(outDir, "quickstart.md"))}.");
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// The quickstart's sizes for a small digit model: P virtual tokens or prefix positions, a prefix reparametrisation as
    /// wide as the model, and (Petrov et al.'s setup 4) rank-1 LoRA on the MLP and attention output projections.
    /// </summary>
    static MethodOptions MethodOptionsFor(int length, ICausalLanguageModel lm) => new()
    {
        VirtualTokens = length, EncoderHidden = lm.Config.HiddenSize, LoraRank = 1, LoraAlpha = 1, TargetModules = ["c_proj", "c_fc"],
    };

    static string DefaultModel()
    {
        string shipped = ExperimentCommand.ShippedModels()
            ?? throw new ArgumentException("No models/petrov folder found from the working directory or the binaries; pass --model DIR.");
        return DefaultModels.Select(k => Path.Combine(shipped, k)).FirstOrDefault(d => File.Exists(Path.Combine(d, "config.json")))
            ?? throw new ArgumentException($"None of the shipped models ({string.Join(", ", DefaultModels)}) is in {shipped}; pass --model DIR.");
    }
}
