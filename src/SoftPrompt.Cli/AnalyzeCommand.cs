using System.CommandLine;
using System.Text;
using System.Text.Json;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Analysis;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Reporting;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt analyze attention --model DIR --adapter DIR --data FILE --out DIR</c>: how an adapter moves
/// each head's attention (Petrov et al.): attention_shift.json, attention_shift.md, attention_shift.svg.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The checkpoint directory the adapter was trained on.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "An adapter directory.", Required = true };
        var data = new Option<string>("--data") { Description = "Examples (.jsonl or .csv) with the fields of the adapter's template; the prompts are analysed.", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory for the table (JSON, markdown) and the heatmap (SVG).", Required = true };
        var limit = new Option<int>("--max-examples") { Description = "Examples analysed (the first N).", DefaultValueFactory = _ => 64 };
        var attention = new Command("attention", "Per layer and head: the attention the prefix takes, the direct and total change of the attention over the content, the rank of the output bias; a verdict.")
            { model, adapter, data, output, limit };
        attention.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!, adapterDir = parse.GetValue(adapter)!, outDir = parse.GetValue(output)!;
            var lm = ModelLoader.Load(dir);
            var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var loaded = AdapterDirectory.Load(adapterDir, lm);
            var task = TaskOptions.FromAdapter(loaded, encoder, adapterDir);
            var examples = Dataset.Load(parse.GetValue(data)!).Take(parse.GetValue(limit)).ToArray();
            var prompts = examples.Select(e => task.Template.RenderPrompt(e, encoder, task.Options)).ToArray();
            var report = AttentionShift.Analyze(lm, loaded.Method, prompts);
            Directory.CreateDirectory(outDir);
            File.WriteAllText(Path.Combine(outDir, "attention_shift.json"), JsonSerializer.Serialize(new
            {
                method = loaded.Method.Kind.ToString().ToLowerInvariant(), examples = prompts.Length, verdict = report.Verdict,
                max_direct_change = report.MaxDirectChange, max_total_change = report.MaxTotalChange, mean_prefix_mass = report.MeanPrefixMass,
                heads = report.Heads.Select(h => new { layer = h.Layer, head = h.Head, prefix_mass = h.PrefixMass, direct_change = h.DirectChange, total_change = h.TotalChange, bias_rank = h.BiasRank }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            var md = new StringBuilder($"# Attention shift: {loaded.Method.Kind} adapter\n\n{report.Verdict}\n\n| layer | head | prefix mass α | direct change | total change | bias rank |\n|---:|---:|---:|---:|---:|---:|\n");
            foreach (var h in report.Heads) md.Append($"| {h.Layer} | {h.Head} | {h.PrefixMass:F3} | {h.DirectChange:E2} | {h.TotalChange:F4} | {h.BiasRank} |\n");
            File.WriteAllText(Path.Combine(outDir, "attention_shift.md"), md.ToString());
            int layers = lm.Config.Layers, heads = lm.Config.Heads;
            double[,] Grid(Func<HeadShift, double> f) { var g = new double[layers, heads]; foreach (var h in report.Heads) g[h.Layer, h.Head] = f(h); return g; }
            File.WriteAllText(Path.Combine(outDir, "attention_shift.svg"), HeatmapSvg.Render($"Attention shift of a {loaded.Method.Kind} adapter", "layer", "head",
                [("prefix mass α", Grid(h => h.PrefixMass)), ("direct change", Grid(h => h.DirectChange)), ("total change", Grid(h => h.TotalChange))]));
            var table = new Table().AddColumn("layer").AddColumn("head").AddColumn("α").AddColumn("direct").AddColumn("total").AddColumn("bias rank");
            foreach (var h in report.Heads) table.AddRow($"{h.Layer}", $"{h.Head}", $"{h.PrefixMass:F3}", $"{h.DirectChange:E1}", $"{h.TotalChange:F4}", $"{h.BiasRank}");
            AnsiConsole.Write(table);
            Console.WriteLine(report.Verdict);
            return 0;
        }));
        return new Command("analyze", "Analyses of adapters.") { attention };
    }
}
