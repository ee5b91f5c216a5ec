using System.Text;
using System.Text.Json;
using SoftPrompt.Tuning.Analysis;
using SoftPrompt.Tuning.Reporting;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>Writes an attention-shift report as attention_shift.json, .md and .svg (heatmaps) and prints its table and verdict.</summary>
internal static class AttentionShiftFiles
{
    public static void Write(string outDir, AttentionShiftReport report, string methodKind, int examples, int layers, int heads)
    {
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "attention_shift.json"), JsonSerializer.Serialize(new
        {
            method = methodKind, examples, verdict = report.Verdict,
            max_direct_change = report.MaxDirectChange, max_total_change = report.MaxTotalChange, mean_prefix_mass = report.MeanPrefixMass,
            heads = report.Heads.Select(h => new { layer = h.Layer, head = h.Head, prefix_mass = h.PrefixMass, direct_change = h.DirectChange, total_change = h.TotalChange, bias_rank = h.BiasRank }),
        }, new JsonSerializerOptions { WriteIndented = true }));
        var md = new StringBuilder($"# Attention shift: {methodKind} adapter\n\n{report.Verdict}\n\n| layer | head | prefix mass α | direct change | total change | bias rank |\n|---:|---:|---:|---:|---:|---:|\n");
        foreach (var h in report.Heads) md.Append($"| {h.Layer} | {h.Head} | {h.PrefixMass:F3} | {h.DirectChange:E2} | {h.TotalChange:F4} | {h.BiasRank} |\n");
        File.WriteAllText(Path.Combine(outDir, "attention_shift.md"), md.ToString());
        double[,] Grid(Func<HeadShift, double> f) { var g = new double[layers, heads]; foreach (var h in report.Heads) g[h.Layer, h.Head] = f(h); return g; }
        File.WriteAllText(Path.Combine(outDir, "attention_shift.svg"), HeatmapSvg.Render($"Attention shift of a {methodKind} adapter", "layer", "head",
            [("prefix mass α", Grid(h => h.PrefixMass)), ("direct change", Grid(h => h.DirectChange)), ("total change", Grid(h => h.TotalChange))]));
        var table = new Table().AddColumn("layer").AddColumn("head").AddColumn("α").AddColumn("direct").AddColumn("total").AddColumn("bias rank");
        foreach (var h in report.Heads) table.AddRow($"{h.Layer}", $"{h.Head}", $"{h.PrefixMass:F3}", $"{h.DirectChange:E1}", $"{h.TotalChange:F4}", $"{h.BiasRank}");
        AnsiConsole.Write(table);
        Console.WriteLine(report.Verdict);
    }
}
