using System.Diagnostics;
using System.Globalization;
using System.Text;
using SoftPrompt.Experiments.MetaL;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt quickstart --metal</c>: language model as a service on the shipped symbol-world target and PGM
/// (models/metal): a task no pretraining or meta-training saw gives its 8 examples, the PGM turns them into a prompt in
/// one pass, the prompt is scored against zero-shot and in-context learning on the task's other inputs, saved as an
/// adapter, loaded back, and a request is answered with it. Writes DIR/examples.jsonl, DIR/test.jsonl, DIR/adapter and
/// DIR/quickstart.md.
/// </summary>
internal static class MetalQuickstart
{
    public const string TargetFolder = "symbol-world-target", PgmFolder = "symbol-world-pgm";

    public static int Run(string? modelDir, string? pgmDir, string outDir, ulong seed, int testItems)
    {
        var clock = Stopwatch.StartNew();
        string target = modelDir ?? Shipped(TargetFolder), pgmPath = pgmDir ?? Shipped(PgmFolder);
        var lm = ModelLoader.Load(target);
        var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(target));
        var (pgm, format, promptDemos, textDemos) = PgmDirectory.Load(pgmPath, lm);
        AnsiConsole.MarkupLine($"[bold]1. service[/] target {Markup.Escape(target)} ({lm.Config.Layers} layers, d = {lm.Config.HiddenSize}); PGM {Markup.Escape(pgmPath)} " +
            $"({PromptDesigns.Name(pgm.Config.Design)}, {pgm.Config.PadTokens} positions, meta-trained on {promptDemos} examples + {textDemos} as text)");

        // 2. A user's task: a rule of the unseen tenth (never in pretraining or meta-training), its examples as files.
        var rng = new Rng(seed);
        var rule = SymbolWorld.RandomRule(rng, WorldSplit.UnseenRules);
        string examplesFile = Path.Combine(outDir, "examples.jsonl"), testFile = Path.Combine(outDir, "test.jsonl"), adapterDir = Path.Combine(outDir, "adapter");
        Directory.CreateDirectory(outDir);
        using var runLock = Tuning.Training.RunDirectoryLock.Acquire(outDir);
        SymbolWorldTasks.WriteExamples(examplesFile, rule, promptDemos + textDemos, rng);
        SymbolWorldTasks.WriteExamples(testFile, rule, testItems, rng);
        var examples = MetaTask.LoadExamples(examplesFile);
        var test = MetaTask.LoadExamples(testFile);
        AnsiConsole.MarkupLine($"[bold]2. task[/] {rule.Name} (unseen): {examples.Count} examples in {Markup.Escape(examplesFile)}, e.g. {Markup.Escape(format.Demonstration(examples[0]).TrimEnd())}");

        // 3. One PGM pass makes the task's prompt.
        var sw = Stopwatch.StartNew();
        var made = TaskPromptMaker.Make(lm, pgm, format, encoder, examples, textDemos, examplesFile);
        double makeMs = sw.Elapsed.TotalMilliseconds;
        TaskPromptMaker.SaveAdapter(adapterDir, made, lm, format, encoder, Path.GetFullPath(target));
        var loaded = AdapterDirectory.Load(adapterDir, lm).Method;
        AnsiConsole.MarkupLine($"[bold]3. prompt[/] made in one PGM pass ({makeMs:F0} ms), saved as {Markup.Escape(Path.GetFullPath(adapterDir))} and loaded back");

        // 4. Score the saved prompt against the LM alone and in-context learning with the same examples.
        TaskEvaluation.Score zero, icl, prompt;
        using (Tensors.Autograd.Tape.NoGrad())
        {
            zero = TaskEvaluation.Evaluate(lm, encoder, format, null, 0, false, [], test);
            icl = TaskEvaluation.Evaluate(lm, encoder, format, null, 0, false, examples, test);
            prompt = TaskEvaluation.Evaluate(lm, encoder, format, loaded.Compute(), made.Prompt.Length, made.Prompt.Prefix is not null, made.TextDemonstrations, test);
        }
        var table = new Table().AddColumn($"{test.Count} test inputs of the task").AddColumn(new TableColumn("exact match").RightAligned()).AddColumn(new TableColumn("tokens a request").RightAligned());
        var rows = new (string Name, TaskEvaluation.Score Score)[]
            { ("zero-shot", zero), ($"in-context learning, {examples.Count} examples", icl), ("the stored MetaL-Prompt adapter", prompt) };
        foreach (var (name, score) in rows) table.AddRow(name, $"{score.ExactMatch:F1}%", $"{score.TokensPerRequest:F0}");
        AnsiConsole.MarkupLine("[bold]4. evaluated[/]");
        AnsiConsole.Write(table);

        // 5. A request served with the stored prompt: the adapter's template puts the prompt (and any X_L) before the input.
        var request = test[0];
        string answer;
        using (Tensors.Autograd.Tape.NoGrad())
            answer = TaskEvaluation.Complete(lm, encoder, format, loaded.Compute(), made.Prompt.Length, made.Prompt.Prefix is not null, made.TextDemonstrations, [request], out _)[0];
        AnsiConsole.MarkupLine($"[bold]5. request[/] {Markup.Escape(request.Field(EpisodeFormat.InputField))} → {Markup.Escape(answer)} (expected {Markup.Escape(request.Field(EpisodeFormat.OutputField))})");
        string next = $"softprompt generate --model {target} --adapter {adapterDir} --prompt {request.Field(EpisodeFormat.InputField)} --max-new-tokens {SymbolWorld.OutputLength + 1}";   // the answer's leading space, then the pairs
        Console.WriteLine("   " + next);

        var md = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"# SoftPrompt quickstart: language model as a service\n\nTarget `{target}`, PGM `{pgmPath}` ({PromptDesigns.Name(pgm.Config.Design)}). " +
            $"Task {rule.Name}, a rule no pretraining or meta-training saw; its {examples.Count} examples (`{examplesFile}`) made the prompt in one PGM pass ({makeMs:F0} ms), stored in `{adapterDir}`.\n\n" +
            $"| {test.Count} test inputs | exact match | tokens a request |\n|---|---:|---:|\n"));
        foreach (var (name, score) in rows) md.Append(CultureInfo.InvariantCulture, $"| {name} | {score.ExactMatch:F1} % | {score.TokensPerRequest:F0} |\n");
        md.Append(CultureInfo.InvariantCulture, $"\nRequest `{request.Field(EpisodeFormat.InputField)}` → `{answer}` (expected `{request.Field(EpisodeFormat.OutputField)}`).\n\nNext:\n\n```\n{next}\n```\n\nTook {clock.Elapsed.TotalSeconds:F0} s.\n");
        File.WriteAllText(Path.Combine(outDir, "quickstart.md"), md.ToString());
        AnsiConsole.MarkupLine($"Done in {clock.Elapsed.TotalSeconds:F0} s; summary in {Markup.Escape(Path.Combine(outDir, "quickstart.md"))}.");
        return 0;
    }

    static string Shipped(string name) => FindShipped(name)
        ?? throw new ArgumentException($"No models/metal/{name} found from the working directory or the binaries; pass --model and --pgm.");

    /// <summary>models/metal/NAME, found above the working directory or the binaries, or null.</summary>
    public static string? FindShipped(string name) => ExperimentCommand.FindAbove(Path.Combine("models", "metal", name));
}
