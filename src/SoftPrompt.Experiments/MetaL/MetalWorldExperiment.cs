using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>One row of the report: a method, its exact match on the meta-test tasks (unseen rules) and on the held-out family, cost.</summary>
public sealed record MetalWorldRow(string Method, double ExactMatch, double HeldOutExactMatch, double PromptSeconds, double TokensPerRequest, string Note = "");

/// <summary>
/// MetaL-Prompt reproduced in the symbol world: on meta-test tasks (unseen rules of the training families, and the
/// held-out family — maps sending a to A, which meta-training never shows) with Shots demonstrations each, zero-shot and in-context learning against prompt tuning and
/// P-tuning on the same demonstrations (timed, best step count) and the PGM's four designs, with X_L empty and with half
/// the demonstrations as text, and the best design refined by prompt tuning. Writes DIR/metal-results.{md,json}.
/// </summary>
public static class MetalWorldExperiment
{
    public static IReadOnlyList<MetalWorldRow> Run(string modelDir, string outDir, MetalWorldScale scale, Action<string>? say = null)
    {
        var clock = Stopwatch.StartNew();
        var w = Load(modelDir, outDir, scale);
        if (Directory.Exists(Path.Combine(outDir, "scratch"))) Directory.Delete(Path.Combine(outDir, "scratch"), recursive: true);   // a stopped run's
        var done = new ReportRows(outDir, scale, modelDir, SymbolWorldTasks.World);
        int loaded = done.Count;
        if (done.Count > 0) say?.Invoke($"{done.Count} rows already measured ({ReportRows.FileName}): going on from there");
        var perSeed = new List<IReadOnlyList<MetalWorldRow>>();
        for (int seed = 0; seed < scale.Seeds; seed++)
        {
            if (scale.Seeds > 1) say?.Invoke($"seed {seed + 1} of {scale.Seeds}");
            perSeed.Add(RunSeed(w.Model, w.Encoder, w.Format, w.Collection, w.Test, w.Held, scale, outDir, (ulong)seed, done, say));
        }
        var rows = Average(perSeed);
        if (Directory.Exists(Path.Combine(outDir, "scratch"))) Directory.Delete(Path.Combine(outDir, "scratch"), recursive: true);
        Write(outDir, "metal-results", rows, scale, modelDir, null, clock.Elapsed.TotalSeconds, w.Collection.Test.Count, w.Held.Length,
            loaded == 0 ? "" : $" ({loaded} of its {done.Count} rows measured by earlier runs, loaded from {ReportRows.FileName})");
        return rows;
    }

    /// <summary>
    /// A PGM made elsewhere (the shipped one, or <c>softprompt metal train</c>'s) on the scale's meta-test tasks: zero-shot,
    /// in-context learning with the demonstrations, and the PGM's prompt made from them (X_L as it was meta-trained) —
    /// exact match on unseen rules and on the held-out family. Writes DIR/metal-pgm-results.{md,json}.
    /// </summary>
    public static IReadOnlyList<MetalWorldRow> EvaluatePgm(string modelDir, string pgmDir, string outDir, MetalWorldScale scale, Action<string>? say = null)
    {
        var clock = Stopwatch.StartNew();
        var w = Load(modelDir, outDir, scale);
        var (pgm, pgmFormat, _, textDemos) = PgmDirectory.Load(pgmDir, w.Model);
        if (pgmFormat != w.Format)
            throw new ArgumentException($"{Path.Combine(pgmDir, PgmDirectory.ConfigFile)}: separator {pgmFormat.Separator} and delimiter {pgmFormat.Delimiter}, not the symbol world's {w.Format.Separator} and {w.Format.Delimiter}.");
        var rows = new List<MetalWorldRow>();
        MetalWorldRow Measure(string name, Func<IReadOnlyList<Example>, MadePrompt> make) => MeasureRow(w.Model, w.Encoder, w.Format, w.Test, w.Held, rows, name, make, "", say);
        Measure("zero-shot", _ => new(null, 0, false, [], 0));
        Measure($"in-context learning, {scale.Shots} demonstrations", d => new(null, 0, false, d, 0));
        Measure($"MetaL-Prompt, {PromptDesigns.Name(pgm.Config.Design)}, X_L {(textDemos == 0 ? "empty" : $"= {textDemos} demonstrations")} ({pgmDir})", d =>
        {
            var sw = Stopwatch.StartNew();
            var made = TaskPromptMaker.Make(w.Model, pgm, w.Format, w.Encoder, d, textDemos);
            return new MadePrompt(made.Prompt.ToMethodOutput(), made.Prompt.Length, made.Prompt.Prefix is not null, made.TextDemonstrations, sw.Elapsed.TotalSeconds);
        });
        Write(outDir, "metal-pgm-results", rows, scale, modelDir, pgmDir, clock.Elapsed.TotalSeconds, w.Collection.Test.Count, w.Held.Length);
        return rows;
    }

    /// <summary>
    /// Writes the scale's task collection into DIR/tasks (train/, validation/, test/, test-heldout/) unless this world's
    /// collection is there (its stamp, <see cref="SymbolWorldTasks.StampFile"/>, names the world and the counts); one of
    /// an earlier world or another scale is replaced. Returns the folder.
    /// </summary>
    public static string WriteTasks(string outDir, MetalWorldScale scale)
    {
        string taskDir = Path.Combine(outDir, "tasks"), stampPath = Path.Combine(taskDir, SymbolWorldTasks.StampFile);
        string stamp = $"{SymbolWorldTasks.World} {scale.TrainTasks} {scale.ValidationTasks} {scale.TestTasks} {scale.HeldOutTasks} {scale.ExamplesPerTask}";
        if (File.Exists(stampPath) && File.ReadAllText(stampPath).Trim() == stamp) return taskDir;
        if (Directory.Exists(taskDir)) Directory.Delete(taskDir, recursive: true);
        SymbolWorldTasks.Write(taskDir, scale.TrainTasks, scale.ValidationTasks, scale.TestTasks, scale.HeldOutTasks, scale.ExamplesPerTask);
        File.WriteAllText(stampPath, stamp + "\n");
        return taskDir;
    }

    sealed record World(ICausalLanguageModel Model, ITextEncoder Encoder, EpisodeFormat Format, TaskCollection Collection,
        (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] Test, (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] Held);

    /// <summary>The target, its tokenizer, the world's format, the task collection (written first if missing) and the meta-test tasks split into Shots demonstrations and TestQueries queries.</summary>
    static World Load(string modelDir, string outDir, MetalWorldScale scale)
    {
        string taskDir = WriteTasks(outDir, scale);
        var model = ModelLoader.Load(modelDir);
        var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(modelDir));
        var format = new EpisodeFormat(SymbolWorldTasks.Separator, SymbolWorldTasks.Delimiter);
        var collection = TaskCollection.Load(taskDir);
        var heldOut = Directory.GetFiles(Path.Combine(taskDir, "test-heldout"), "*.jsonl").Order(StringComparer.Ordinal).Select(MetaTask.Load).ToArray();
        int k = scale.Shots;
        (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] Split(IEnumerable<MetaTask> tasks) =>
            [.. tasks.Select(t => ((IReadOnlyList<Example>)t.Examples.Take(k).ToArray(), (IReadOnlyList<Example>)t.Examples.Skip(k).Take(scale.TestQueries).ToArray()))];
        return new World(model, encoder, format, collection, Split(collection.Test), Split(heldOut));
    }

    /// <summary>
    /// Each method's mean over the seeds (rows come in the same order every seed); with more than one seed the note
    /// lists each seed's exact match on unseen rules. A row whose method is chosen per seed (the best design, refined)
    /// names each seed's choice where they differ.
    /// </summary>
    static IReadOnlyList<MetalWorldRow> Average(IReadOnlyList<IReadOnlyList<MetalWorldRow>> perSeed)
    {
        if (perSeed.Count == 1) return perSeed[0];
        return [.. Enumerable.Range(0, perSeed[0].Count).Select(i =>
        {
            var all = perSeed.Select(rows => rows[i]).ToArray();
            string seeds = "seeds: " + string.Join(" / ", all.Select(r => r.ExactMatch.ToString("F1", CultureInfo.InvariantCulture)));
            return new MetalWorldRow(SeedsMethod(all.Select(r => r.Method).ToArray()), all.Average(r => r.ExactMatch), all.Average(r => r.HeldOutExactMatch), all.Average(r => r.PromptSeconds),
                all.Average(r => r.TokensPerRequest), string.Join("; ", all.Select(r => r.Note).Where(n => n.Length > 0).Distinct().Append(seeds)));
        })];
    }

    /// <summary>The seeds' method names, the same: that name; else the parts (", "-separated) that differ listed per seed, e.g. "MetaL-Prompt, per seed: hidden-state / prefix / prefix, X_L empty, …".</summary>
    internal static string SeedsMethod(IReadOnlyList<string> methods)
    {
        if (methods.Distinct().Count() == 1) return methods[0];
        var parts = methods.Select(m => m.Split(", ")).ToArray();
        if (parts.Any(p => p.Length != parts[0].Length)) return string.Join(" / ", methods);
        return string.Join(", ", Enumerable.Range(0, parts[0].Length).Select(j =>
            parts.All(p => p[j] == parts[0][j]) ? parts[0][j] : "per seed: " + string.Join(" / ", parts.Select(p => p[j]))));
    }

    /// <summary>Every row of the report for one seed (the initialisations of the tuned prompts and of the PGMs, and the episodes' draws).</summary>
    static IReadOnlyList<MetalWorldRow> RunSeed(ICausalLanguageModel model, ITextEncoder encoder, EpisodeFormat format, TaskCollection collection,
        (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] test, (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] held,
        MetalWorldScale scale, string outDir, ulong seed, ReportRows done, Action<string>? say)
    {
        int k = scale.Shots;
        var rows = new List<MetalWorldRow>();

        MetalWorldRow Measure(string name, Func<IReadOnlyList<Example>, MadePrompt> make, string note = "")
        {
            if (done.TryGet(seed, name, out var row)) { rows.Add(row); return row; }
            row = MeasureRow(model, encoder, format, test, held, rows, name, make, note, say);
            done.Add(seed, row);
            return row;
        }

        Measure("zero-shot", _ => new(null, 0, false, [], 0));
        Measure($"in-context learning, {k} demonstrations", d => new(null, 0, false, d, 0));

        // Prompt tuning and P-tuning on the k demonstrations, each step count tried; the best kept, its time reported.
        TuningMethod Tuned(TuningMethod method, IReadOnlyList<Example> demos, int steps, out double seconds)
        {
            var task = format.QueryTask(method.VirtualTokens, encoder);
            var options = new TrainerOptions { MaxSteps = steps, BatchSize = Math.Min(8, demos.Count), LearningRate = method.Definition.DefaultLearningRate, Schedule = ScheduleKind.Constant, MaxGradNorm = 1f, LogEvery = steps };
            string dir = Path.Combine(outDir, "scratch", Guid.NewGuid().ToString("N"));
            var sw = Stopwatch.StartNew();
            new Trainer(model, method, task, [.. demos.Select(e => EpisodeFormat.Query(e, ""))], null, options, dir).Train();
            seconds = sw.Elapsed.TotalSeconds;
            Directory.Delete(dir, recursive: true);
            return method;
        }
        foreach (var (label, create) in new (string, Func<Rng, TuningMethod>)[]
        {
            ("prompt tuning (Lester et al.)", rng => PromptTuningMethod.Create(new PromptTuningConfig(scale.PadTokens, PromptTuningInit.SampleVocab, SampleVocabSize: SymbolWorld.SeparatorId), model, rng)),
            ("P-tuning (the paper's baseline)", rng => PTuningMethod.Create(new PTuningConfig(scale.PadTokens), model, rng)),
        })
        {
            MetalWorldRow? best = null;
            foreach (int steps in scale.TuningSteps)
            {
                var row = Measure($"{label}, {steps} steps", d =>
                {
                    var m = Tuned(create(new Rng(1 + seed)), d, steps, out double s);
                    return new MadePrompt(m.Compute(), scale.PadTokens, false, [], s);
                });
                rows.Remove(row);
                if (best is null || row.ExactMatch > best.ExactMatch) best = row;
            }
            rows.Add(best! with { Method = $"{label} on the demonstrations, best step count", Note = best.Method[(label.Length + 2)..] });
        }

        // The PGM, four designs, X_L empty and X_L = half the demonstrations; each meta-trained once on the train split
        // (unless its row was measured by an earlier run of this report: then it is only loaded, if refinement needs it).
        string PgmDir(PromptDesign design, int textDemos) => Path.Combine(outDir, $"pgm-{PromptDesigns.Name(design)}-xl{textDemos}" + (scale.Seeds > 1 ? $"-seed{seed}" : ""));
        PromptGenerator MetaTrain(PromptDesign design, int textDemos)
        {
            var pgm = new PromptGenerator(new PgmConfig(design, scale.PadTokens, LoraRank: 8, PaddingHidden: 0), model, new Rng(5 + seed));
            var options = new MetaTrainerOptions
            {
                MaxSteps = scale.MetaSteps, EpisodesPerStep = scale.EpisodesPerStep, PromptDemonstrations = k - textDemos, TextDemonstrations = textDemos,
                Queries = scale.Queries, LearningRate = 1e-3, EvalEvery = Math.Max(1, scale.MetaSteps / 4), EvalEpisodes = 16, CheckpointEvery = 100, Seed = 42 + seed,
            };
            string dir = PgmDir(design, textDemos);
            var result = new MetaTrainer(model, pgm, collection, encoder, format, options, dir).Train();
            say?.Invoke(result.Losses.Count == 0 ? $"loaded the meta-trained {PromptDesigns.Name(design)}, X_L = {textDemos} ({dir})"
                : $"meta-trained {PromptDesigns.Name(design)}, X_L = {textDemos}: {result.Steps} steps, last loss {result.Losses[^1]:F3}");
            return PgmDirectory.Load(dir, model).Pgm;   // the best by held-out loss
        }
        var trained = new Dictionary<(PromptDesign, int), PromptGenerator>();   // this run's, for the refinement below
        static string Name(PromptDesign design, int textDemos) => $"MetaL-Prompt, {PromptDesigns.Name(design)}, X_L {(textDemos == 0 ? "empty" : $"= {textDemos} demonstrations")}";
        foreach (int textDemos in new[] { 0, k / 2 })
            foreach (var design in PromptDesigns.All)
            {
                if (done.TryGet(seed, Name(design, textDemos), out var measured)) { rows.Add(measured); continue; }
                var loaded = trained[(design, textDemos)] = MetaTrain(design, textDemos);
                Measure(Name(design, textDemos), d =>
                {
                    var sw = Stopwatch.StartNew();
                    var made = TaskPromptMaker.Make(model, loaded, format, encoder, d, textDemos);
                    return new MadePrompt(made.Prompt.ToMethodOutput(), made.Prompt.Length, made.Prompt.Prefix is not null, made.TextDemonstrations, sw.Elapsed.TotalSeconds);
                });
            }

        // The best X_L-empty design, refined by prompt tuning from its generated prompt.
        var bestDesign = rows.Where(r => r.Method.StartsWith("MetaL-Prompt") && r.Method.EndsWith("empty")).MaxBy(r => r.ExactMatch)!;
        var design0 = PromptDesigns.All.First(d => bestDesign.Method.Contains(PromptDesigns.Name(d) + ","));
        PromptGenerator? refineFrom = null;
        Measure($"MetaL-Prompt, {PromptDesigns.Name(design0)}, X_L empty, + {scale.RefineSteps} steps of prompt tuning", d =>
        {
            var sw = Stopwatch.StartNew();
            refineFrom ??= trained.GetValueOrDefault((design0, 0)) ?? MetaTrain(design0, 0);   // measured by an earlier run: its finished PGM is only loaded
            var made = TaskPromptMaker.Make(model, refineFrom, format, encoder, d, 0);
            string dir = Path.Combine(outDir, "scratch", Guid.NewGuid().ToString("N"));
            PromptRefinement.Refine(model, made, format, encoder, d, scale.RefineSteps, 0.01, dir);
            var refined = Tuning.Adapters.AdapterDirectory.Load(dir, model).Method;
            Directory.Delete(dir, recursive: true);
            return new MadePrompt(refined.Compute(), made.Prompt.Length, made.Prompt.Prefix is not null, [], sw.Elapsed.TotalSeconds);
        });
        return rows;
    }

    /// <summary>What a method makes for a task from its demonstrations: the prompt (null: none), its length, whether it is a prefix, the demonstrations kept as text, seconds to make it.</summary>
    internal sealed record MadePrompt(MethodOutput? Prompt, int Length, bool Prefix, IReadOnlyList<Example> Text, double Seconds);

    /// <summary>A method evaluated on the unseen rules and on the held-out family: its row, added to rows.</summary>
    static MetalWorldRow MeasureRow(ICausalLanguageModel model, ITextEncoder encoder, EpisodeFormat format,
        (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] test, (IReadOnlyList<Example> Demos, IReadOnlyList<Example> Queries)[] held,
        List<MetalWorldRow> rows, string name, Func<IReadOnlyList<Example>, MadePrompt> make, string note, Action<string>? say)
    {
        double Mean(IEnumerable<double> xs) => xs.DefaultIfEmpty(double.NaN).Average();
        var scores = new List<(double Exact, double Tokens, double Seconds, bool Held)>();
        foreach (var (set, isHeld) in new[] { (test, false), (held, true) })
            foreach (var (demos, queries) in set)
            {
                var p = make(demos);
                using var _ = Tensors.Autograd.Tape.NoGrad();
                var s = TaskEvaluation.Evaluate(model, encoder, format, p.Prompt, p.Length, p.Prefix, p.Text, queries);
                scores.Add((s.ExactMatch, s.TokensPerRequest, p.Seconds, isHeld));
            }
        var row = new MetalWorldRow(name, Mean(scores.Where(s => !s.Held).Select(s => s.Exact)), Mean(scores.Where(s => s.Held).Select(s => s.Exact)),
            Mean(scores.Select(s => s.Seconds)), Mean(scores.Select(s => s.Tokens)), note);
        say?.Invoke($"{name}: {row.ExactMatch:F1}% (held-out family {row.HeldOutExactMatch:F1}%), {row.PromptSeconds * 1000:F0} ms to make, {row.TokensPerRequest:F0} tokens a request");
        rows.Add(row);
        return row;
    }

    static void Write(string outDir, string name, IReadOnlyList<MetalWorldRow> rows, MetalWorldScale scale, string modelDir, string? pgmDir, double seconds, int testTasks, int heldOutTasks,
        string resumed = "")
    {
        string F(double x) => double.IsNaN(x) ? "–" : x.ToString("F1", CultureInfo.InvariantCulture);
        var md = new StringBuilder();
        md.Append($"# MetaL-Prompt in the symbol world\n\nTarget `{modelDir}`; {testTasks} meta-test tasks (unseen rules) and {heldOutTasks} of the held-out family (unseen maps sending a to A, a family meta-training never shows), " +
                  $"{scale.Shots} demonstrations and {scale.TestQueries} queries each; " +
                  (pgmDir is null ? $"prompts of {scale.PadTokens} positions; {scale.MetaSteps} meta-training steps a PGM" : $"the PGM in `{pgmDir}`") + $". This run took {seconds / 60:F1} min{resumed}.\n\n");
        md.Append("| method | exact match, unseen rules | exact match, held-out family | time to make the task's prompt | tokens the LM reads per request | note |\n|---|---:|---:|---:|---:|---|\n");
        foreach (var r in rows)
            md.Append($"| {r.Method} | {F(r.ExactMatch)} % | {F(r.HeldOutExactMatch)} % | {(r.PromptSeconds == 0 ? "0" : $"{r.PromptSeconds * 1000:F0} ms")} | {r.TokensPerRequest:F0} | {r.Note} |\n");
        File.WriteAllText(Path.Combine(outDir, name + ".md"), md.ToString());
        File.WriteAllText(Path.Combine(outDir, name + ".json"), JsonSerializer.Serialize(new { scale, model = modelDir, pgm = pgmDir, seconds, rows }, new JsonSerializerOptions { WriteIndented = true }));
    }
}
