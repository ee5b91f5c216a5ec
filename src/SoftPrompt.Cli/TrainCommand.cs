using System.CommandLine;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt train --model DIR --method prompt|prefix|ptuning|deep|lora --train FILE [--eval FILE] --template T --out DIR</c>:
/// trains an adapter on the frozen model with a progress bar, writes it in PEFT's layout with a
/// JSONL log and an SVG of the curves, and resumes from DIR/checkpoint when it is there.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A Hugging Face checkpoint directory.", Required = true };
        var train = new Option<string>("--train") { Description = "Training data (.jsonl or .csv).", Required = true };
        var eval = new Option<string?>("--eval") { Description = "Evaluation data (.jsonl or .csv): metrics, keep-best, early stopping." };
        var output = new Option<string>("--out") { Description = "Output directory (adapter, checkpoint/, train_log.jsonl, curves.svg).", Required = true }.MustBeDirectoryPath();
        var steps = new Option<int>("--max-steps") { Description = "Optimizer updates.", DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch-size") { Description = "Examples per batch.", DefaultValueFactory = _ => 8 };
        var accumulation = new Option<int>("--grad-accum") { Description = "Batches per update.", DefaultValueFactory = _ => 1 };
        var lr = new Option<double?>("--lr") { Description = "Learning rate (default: " + string.Join(", ", Tuning.Methods.MethodRegistry.All.Select(d => $"{d.DefaultLearningRate:G} {d.Name}")) + ")." };
        var optimizer = new Option<string>("--optimizer") { Description = "adamw | adafactor.", DefaultValueFactory = _ => "adamw" };
        var schedule = new Option<string>("--schedule") { Description = "linear | cosine | constant.", DefaultValueFactory = _ => "linear" };
        var warmup = new Option<int>("--warmup") { Description = "Warmup updates.", DefaultValueFactory = _ => 0 };
        var decay = new Option<double>("--weight-decay") { Description = "Decoupled weight decay.", DefaultValueFactory = _ => 0.0 };
        var clip = new Option<float>("--max-grad-norm") { Description = "Gradient clipping norm.", DefaultValueFactory = _ => 1f };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate every N updates (0: at the end).", DefaultValueFactory = _ => 0 };
        var patience = new Option<int>("--patience") { Description = "Stop after N evaluations without improvement (0: never).", DefaultValueFactory = _ => 0 };
        var seed = new Option<ulong>("--seed") { Description = "Seed for initialisation, shuffling and dropout.", DefaultValueFactory = _ => 42UL };
        var modelDropout = new Option<bool>("--model-dropout") { Description = "Train with the model's own dropouts (config.json's embd/attn/resid_pdrop), as Hugging Face's Trainer does; off: the model runs as in evaluation." };
        var method = new MethodFlags();
        var task = new TaskOptions();
        var cmd = new Command("train", "Train a prompt-learning adapter (or LoRA) on a frozen model.")
            { model, train, eval, output, steps, batch, accumulation, lr, optimizer, schedule, warmup, decay, clip, evalEvery, patience, seed, modelDropout };
        foreach (var o in method.All.Concat(task.All)) cmd.Options.Add(o);
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!, outDir = parse.GetValue(output)!;
            var lm = ModelLoader.Load(dir);
            var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var defaults = GenerationDefaults.Load(dir);
            var trainData = Dataset.Load(parse.GetValue(train)!);
            var evalData = parse.GetValue(eval) is { } e ? Dataset.Load(e) : null;
            var verbalizer = TaskOptions.ParseVerbalizer(parse.GetValue(task.Verbalizer));
            var m = method.Create(parse, lm, t => encoder.Encode(t), verbalizer, parse.GetValue(seed));
            var tuningTask = task.Create(parse, encoder, defaults, m.VirtualTokens);
            var options = new TrainerOptions
            {
                MaxSteps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), GradientAccumulation = parse.GetValue(accumulation),
                LearningRate = parse.GetValue(lr) ?? m.Definition.DefaultLearningRate,
                Optimizer = parse.GetValue(optimizer) switch { "adamw" => OptimizerKind.AdamW, "adafactor" => OptimizerKind.Adafactor, var o => throw new ArgumentException($"--optimizer '{o}': adamw or adafactor.") },
                Schedule = parse.GetValue(schedule) switch { "linear" => ScheduleKind.Linear, "cosine" => ScheduleKind.Cosine, "constant" => ScheduleKind.Constant, var s => throw new ArgumentException($"--schedule '{s}': linear, cosine or constant.") },
                WarmupSteps = parse.GetValue(warmup), WeightDecay = parse.GetValue(decay), MaxGradNorm = parse.GetValue(clip),
                EvalEvery = parse.GetValue(evalEvery), EarlyStoppingPatience = parse.GetValue(patience), Seed = parse.GetValue(seed),
                ModelDropout = parse.GetValue(modelDropout),
            };
            using var runLock = RunDirectoryLock.Acquire(outDir);   // one run at a time in --out: a second would interleave its checkpoints
            var trainer = new Trainer(lm, m, tuningTask, trainData, evalData, options, outDir, new JsonObject { ["base_model"] = Path.GetFullPath(dir) });
            AnsiConsole.MarkupLine($"[bold]{m.Name}[/] on [bold]{Markup.Escape(lm.Config.ModelType)}[/]: {m.TrainableParameters:N0} trainable parameters, {trainData.Count} training examples, template [italic]{Markup.Escape(tuningTask.Template.Source)}[/]");
            var result = TrainingProgressBar.Run(trainer, options.MaxSteps);
            var table = new Table().AddColumn("result").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("updates", result.Steps.ToString());
            table.AddRow("last training loss", result.Losses.Count > 0 ? result.Losses[^1].ToString("F4") : "-");
            if (result.FinalEval is { } fe)
            {
                table.AddRow("eval loss (last)", fe.Loss.ToString("F4"));
                foreach (var (k, v) in fe.Metrics) table.AddRow($"eval {k} (last)", v.ToString("F4"));
            }
            if (result.BestEval is { } be) table.AddRow($"best {tuningTask.SelectionMetric.Name}", $"{be.Get(tuningTask.SelectionMetric.Name):F4} at step {result.BestStep}");
            if (result.StoppedEarly) table.AddRow("stopped early", "yes");
            if (result.SkippedNonFinite > 0) table.AddRow("updates skipped (NaN/inf)", result.SkippedNonFinite.ToString());
            table.AddRow("adapter", Markup.Escape(Path.GetFullPath(outDir)));
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }
}
