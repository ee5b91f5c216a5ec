using System.Diagnostics;
using SoftPrompt.Experiments.MetaL;
using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Bench.Metal;

/// <summary>
/// MetaL-Prompt's costs on the symbol world's target shape (4 layers, d = 128; random weights: times do not depend on
/// them): a request (5 greedy symbols) after a stored prompt of M = 8 positions against in-context learning with the
/// same 8 demonstrations in every request; and making a task's prompt with one PGM pass against one prompt-tuning
/// update on those demonstrations (how many updates prompt tuning needs to match comes with the trained target:
/// `experiment metal` reports both times). Medians over --runs (default 200).
/// </summary>
public static class MetalBench
{
    public static IReadOnlyList<BenchRow> Run(BenchArgs args)
    {
        int runs = args.GetInt("runs", 200);   // a millisecond request: 30 runs were still in warm-up noise (2.4 vs 0.7 ms)
        string dir = Directory.CreateTempSubdirectory("softprompt-bench-metal-").FullName;
        try
        {
            var target = new IclPretrainer(IclPretrainer.DefaultConfig, new IclPretrainOptions());
            SymbolWorldTarget.Export(target, dir);
            var model = ModelLoader.Load(dir);
            var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var format = new EpisodeFormat(SymbolWorldTasks.Separator, SymbolWorldTasks.Delimiter);
            var rng = new Rng(3);
            var rule = SymbolWorld.RandomRule(rng, WorldSplit.UnseenRules);
            Example Draw() { var (input, output) = SymbolWorldTasks.Draw(rule, rng); return Example.Of(("input", input), ("output", output)); }
            var demos = Enumerable.Range(0, 8).Select(_ => Draw()).ToArray();
            var pgm = new PromptGenerator(new PgmConfig(PromptDesign.HiddenState, PadTokens: 8), model, new Rng(1));
            var prompt = TaskPromptMaker.Make(model, pgm, format, encoder, demos, 0).Prompt;
            var options = new GenerationOptions(MaxNewTokens: SymbolWorld.Length);
            string query = Draw().Field("input") + format.Separator + " ";

            double Time(Action run)
            {
                run();   // warm-up
                var times = new List<double>();
                for (int i = 0; i < runs; i++) { var sw = Stopwatch.StartNew(); run(); times.Add(sw.Elapsed.TotalMilliseconds); }
                return Statistics.Median(times);
            }
            var storedIds = new int[prompt.Length].Concat(encoder.Encode(query)).ToArray();
            var plan = prompt.ToMethodOutput().Plan([[(0, 0, prompt.Length)]]);
            double stored = Time(() => Generator.Generate(model, storedIds, options, plan).ToList());
            var iclIds = encoder.Encode(format.Demonstrations(demos) + query);
            double icl = Time(() => Generator.Generate(model, iclIds, options).ToList());

            var xp = encoder.Encode(format.Demonstrations(demos));
            double make;
            using (Tape.NoGrad()) make = Time(() => pgm.Generate(model, xp));
            var tuning = PromptTuningMethod.Create(new PromptTuningConfig(8), model, new Rng(2));
            var task = format.QueryTask(8, encoder);
            var batch = new Collator().Collate(task.Encode([.. demos.Select(e => EpisodeFormat.Query(e, ""))], "demonstrations"));
            double step = Time(() =>
            {
                using var scope = SoftPrompt.Tensors.Memory.TensorScope.Begin();
                BatchLoss.Compute(model, tuning, batch, training: true).Backward();
            });
            return
            [
                new BenchRow($"a request after a stored prompt (M = 8) vs ICL with its 8 demonstrations ({storedIds.Length} vs {iclIds.Length} tokens)", stored, icl, "ms", LowerIsBetter: true),
                new BenchRow("making the prompt: one PGM pass vs one prompt-tuning update (forward + backward) on the 8 demonstrations", make, step, "ms", LowerIsBetter: true,
                    Note: "prompt tuning needs many updates; experiment metal reports the time to its best"),
            ];
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
