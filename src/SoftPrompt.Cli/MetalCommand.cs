using System.CommandLine;
using System.Text.Json.Nodes;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods.PTuning;
using SoftPrompt.Tuning.Training;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt metal train|generate</c>: MetaL-Prompt. train meta-trains a prompt generation model over a task
/// collection (the provider's offline step); generate turns a new task's few examples into a stored adapter with one
/// PGM pass (the user's step), optionally refined by prompt tuning.
/// </summary>
internal static class MetalCommand
{
    public static Command Create()
    {
        var cmd = new Command("metal", "MetaL-Prompt: meta-train a prompt generation model, and make a task's prompt from a few examples with it.");
        cmd.Subcommands.Add(Train());
        cmd.Subcommands.Add(Generate());
        return cmd;
    }

    static int? Eos(string modelDir) => GenerationDefaults.Load(modelDir).EosTokenIds is { Count: > 0 } e ? e[0] : null;

    static Command Train()
    {
        var model = new Option<string>("--model") { Description = "The target model: a Hugging Face checkpoint directory.", Required = true };
        var tasks = new Option<string>("--tasks") { Description = "A folder of tasks, one JSONL file each ({\"input\", \"output\"} per line), or with train/, validation/, test/ subfolders.", Required = true };
        var design = new Option<string>("--design") { Description = "discrete | weighted-sum | hidden-state | prefix.", DefaultValueFactory = _ => "hidden-state" };
        var output = new Option<string>("--out") { Description = "Output directory: the PGM (pgm_config.json, pgm.safetensors), checkpoint/, train_log.jsonl, curves.svg.", Required = true }.MustBeDirectoryPath();
        var pads = new Option<int>("--pad-tokens") { Description = "M: trainable pad positions, the prompt's length.", DefaultValueFactory = _ => 8 }.MustBeAtLeast(1);
        var rank = new Option<int>("--lora-r") { Description = "Rank of the PGM's LoRA.", DefaultValueFactory = _ => 8 }.MustBeAtLeast(1);
        var alpha = new Option<float>("--lora-alpha") { Description = "LoRA alpha (scale alpha/r).", DefaultValueFactory = _ => 16f };
        var targets = new Option<string?>("--target-modules") { Description = "The PGM's LoRA layers (PEFT's target_modules; default: the attention query/value projections)." };
        var encoder = new Option<string>("--padding-encoder") { Description = "The padding's reparametrisation: mlp | lstm.", DefaultValueFactory = _ => "mlp" };
        var kp = new Option<int>("--prompt-demonstrations") { Description = "k_P: demonstrations the PGM reads per episode.", DefaultValueFactory = _ => 8 }.MustBeAtLeast(1);
        var kl = new Option<int>("--text-demonstrations") { Description = "k_L: demonstrations kept as text after the prompt (0: none).", DefaultValueFactory = _ => 0 }.MustBeAtLeast(0);
        var queries = new Option<int>("--queries") { Description = "Queries per episode.", DefaultValueFactory = _ => 8 }.MustBeAtLeast(1);
        var episodes = new Option<int>("--episodes-per-step") { Description = "Episodes per update.", DefaultValueFactory = _ => 4 }.MustBeAtLeast(1);
        var steps = new Option<int>("--max-steps") { Description = "Updates.", DefaultValueFactory = _ => 1_000 }.MustBeAtLeast(1);
        var lr = new Option<double>("--lr") { Description = "Learning rate (AdamW, linear decay).", DefaultValueFactory = _ => 1e-3 };
        var evalEvery = new Option<int>("--eval-every") { Description = "Held-out (validation tasks) loss every N updates (0: at the end).", DefaultValueFactory = _ => 0 }.MustBeAtLeast(0);
        var seed = new Option<ulong>("--seed") { Description = "Seed for initialisation, episodes and Gumbel noise.", DefaultValueFactory = _ => 42UL };
        var stopAt = new Option<int?>("--stop-at-step") { Description = "Stop (checkpointed) at this step; rerun to go on." };
        var separator = new Option<string>("--separator") { Description = "Between a demonstration's input and output.", DefaultValueFactory = _ => " =>" };
        var delimiter = new Option<string>("--delimiter") { Description = "After each demonstration (\\n: a newline).", DefaultValueFactory = _ => "\\n" };
        var cmd = new Command("train", "Meta-train a prompt generation model over a task collection (resumes from OUT/checkpoint).")
            { model, tasks, design, output, pads, rank, alpha, targets, encoder, kp, kl, queries, episodes, steps, lr, evalEvery, seed, stopAt, separator, delimiter };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!, outDir = parse.GetValue(output)!;
            var lm = ModelLoader.Load(dir);
            var textEncoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var collection = TaskCollection.Load(parse.GetValue(tasks)!);
            var config = new PgmConfig(PromptDesigns.Parse(parse.GetValue(design)!), parse.GetValue(pads), parse.GetValue(rank), parse.GetValue(alpha),
                parse.GetValue(targets)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                parse.GetValue(encoder) switch { "mlp" => PromptEncoderType.Mlp, "lstm" => PromptEncoderType.Lstm, var e => throw new ArgumentException($"--padding-encoder '{e}': mlp or lstm.") });
            var pgm = new PromptGenerator(config, lm, new Rng(parse.GetValue(seed)));
            var options = new MetaTrainerOptions
            {
                MaxSteps = parse.GetValue(steps), EpisodesPerStep = parse.GetValue(episodes), PromptDemonstrations = parse.GetValue(kp), TextDemonstrations = parse.GetValue(kl),
                Queries = parse.GetValue(queries), LearningRate = parse.GetValue(lr), EvalEvery = parse.GetValue(evalEvery), Seed = parse.GetValue(seed), StopAtStep = parse.GetValue(stopAt),
            };
            using var runLock = RunDirectoryLock.Acquire(outDir);
            var trainer = new MetaTrainer(lm, pgm, collection, textEncoder, new EpisodeFormat(parse.GetValue(separator)!, parse.GetValue(delimiter)!.Replace("\\n", "\n")), options, outDir, Eos(dir));
            AnsiConsole.MarkupLine($"[bold]MetaL-Prompt PGM[/] ({PromptDesigns.Name(config.Design)}, M = {config.PadTokens}) on [bold]{Markup.Escape(lm.Config.ModelType)}[/]: {pgm.TrainableParameters:N0} trainable parameters; " +
                $"{collection.Train.Count} training, {collection.Validation.Count} validation, {collection.Test.Count} test tasks");
            var result = TrainingProgressBar.Run(trainer.Train, options.MaxSteps, "meta-training");
            AnsiConsole.MarkupLine($"{result.Steps} updates, last loss {(result.Losses.Count > 0 ? result.Losses[^1] : double.NaN):F4}; PGM in {Markup.Escape(Path.GetFullPath(outDir))}");
            return 0;
        }));
        return cmd;
    }

    static Command Generate()
    {
        var model = new Option<string>("--model") { Description = "The target model the PGM was meta-trained for.", Required = true };
        var pgmDir = new Option<string>("--pgm") { Description = "A PGM directory (softprompt metal train's --out).", Required = true };
        var examples = new Option<string>("--examples") { Description = "The task's examples: JSONL (or CSV) with input and output fields.", Required = true };
        var output = new Option<string>("--out") { Description = "The adapter directory to write (PEFT layout).", Required = true }.MustBeDirectoryPath();
        var kl = new Option<int?>("--text-demonstrations") { Description = "How many of the examples (the last ones) stay as text after the prompt (default: as meta-trained)." }.MustBeAtLeast(0);
        var refine = new Option<int>("--refine-steps") { Description = "Then prompt-tune the generated prompt for N updates on the examples (0: no refinement).", DefaultValueFactory = _ => 0 }.MustBeAtLeast(0);
        var lr = new Option<double>("--refine-lr") { Description = "Learning rate of the refinement.", DefaultValueFactory = _ => 0.01 };
        var cmd = new Command("generate", "Make a task's prompt from its examples in one PGM pass and save it as an adapter that generate, eval, inspect and analyze use.")
            { model, pgmDir, examples, output, kl, refine, lr };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!, outDir = parse.GetValue(output)!, examplesPath = parse.GetValue(examples)!;
            var lm = ModelLoader.Load(dir);
            var textEncoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var (pgm, format, _, trainedTextDemos) = PgmDirectory.Load(parse.GetValue(pgmDir)!, lm);
            var data = MetaTask.LoadExamples(examplesPath);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var task = TaskPromptMaker.Make(lm, pgm, format, textEncoder, data, parse.GetValue(kl) ?? trainedTextDemos, examplesPath);
            double seconds = clock.Elapsed.TotalSeconds;
            int? eos = Eos(dir);
            using var runLock = RunDirectoryLock.Acquire(outDir);
            TaskPromptMaker.SaveAdapter(outDir, task, lm, format, textEncoder, Path.GetFullPath(dir), eos);
            AnsiConsole.MarkupLine($"[bold]prompt[/] ({PromptDesigns.Name(task.Prompt.Design)}, {task.Prompt.Length} positions) from {task.PromptDemonstrations} examples in {task.Passes} PGM pass(es), {seconds * 1000:F0} ms; " +
                $"{task.TextDemonstrations.Count} kept as text; adapter in {Markup.Escape(Path.GetFullPath(outDir))}");
            if (task.Prompt.TokenIds is { } ids) AnsiConsole.MarkupLine($"   as text: {Markup.Escape(textEncoder.Decode(ids))}");
            if (parse.GetValue(refine) is int n and > 0)
            {
                var extras = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, Tuning.Adapters.AdapterDirectory.ExtrasFile)))!.AsObject();
                extras.Remove("template"); extras.Remove("answer_field"); extras.Remove("task"); extras.Remove("method"); extras.Remove("settings");
                extras["base_model"] = Path.GetFullPath(dir);
                var result = TrainingProgressBar.Run((p, ct) => PromptRefinement.Refine(lm, task, format, textEncoder, data, n, parse.GetValue(lr), outDir, extras, eos, p), n, "refining");
                AnsiConsole.MarkupLine($"refined for {result.Steps} updates (last loss {(result.Losses.Count > 0 ? result.Losses[^1] : double.NaN):F4})");
            }
            return 0;
        }));
        return cmd;
    }
}
