using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace SoftPrompt.Bench;

/// <summary>One measurement: our figure, the reference implementation's (if it ran), and their ratio.</summary>
/// <param name="LowerIsBetter">True for times and memory: then a ratio below 1 is the good side.</param>
/// <param name="Note">Why the reference is missing, or how it was run.</param>
public sealed record BenchRow(string Name, double Ours, double? Reference, string Unit, bool LowerIsBetter = false, string? Note = null)
{
    /// <summary>Ours / Reference (above 1 is better for throughput, below 1 for times and memory).</summary>
    public double? Ratio => Reference is > 0 ? Ours / Reference : null;

    /// <summary>The ratio turned so that above 1 always means we are better.</summary>
    public double? Advantage => Ratio is { } r ? (LowerIsBetter ? 1 / r : r) : null;
}

/// <summary>Prints rows as a table and writes them as a JSON array of {name, ours, reference, ratio, unit}.</summary>
public static class BenchReport
{
    public static void Print(string title, IReadOnlyList<BenchRow> rows)
    {
        var table = new Table().Title(title).Border(TableBorder.Rounded);
        table.AddColumn("name");
        table.AddColumn(new TableColumn("ours").RightAligned());
        table.AddColumn(new TableColumn("reference").RightAligned());
        table.AddColumn(new TableColumn("ratio").RightAligned());
        table.AddColumn("unit");
        foreach (var r in rows)
        {
            string ratio = r.Ratio is { } x && r.Advantage is { } adv
                ? $"[{(adv >= 1.0 ? "green" : adv >= 0.9 ? "yellow" : "red")}]{x.ToString("F2", CultureInfo.InvariantCulture)}[/]"
                : "";
            table.AddRow(Markup.Escape(r.Name), Format(r.Ours), r.Reference is { } v ? Format(v) : "", ratio, Markup.Escape(r.Unit));
        }
        AnsiConsole.Write(table);
        foreach (var note in rows.Select(r => r.Note).OfType<string>().Distinct()) AnsiConsole.MarkupLine($"[grey]note: {Markup.Escape(note)}[/]");
    }

    public static void WriteJson(string path, IReadOnlyList<BenchRow> rows)
    {
        var items = rows.Select(r => new { name = r.Name, ours = r.Ours, reference = r.Reference, ratio = r.Ratio, unit = r.Unit, lower_is_better = r.LowerIsBetter, note = r.Note });
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, JsonSerializer.Serialize(items, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {path}");
    }

    // Three significant figures (0.0118, 0.347, 13.2, 131.8): a ratio of two rounded values must not hide a 30% change.
    static string Format(double v) => v == 0 || Math.Abs(v) >= 100 ? v.ToString("F1", CultureInfo.InvariantCulture)
        : Math.Abs(v) < 1e-3 ? v.ToString("0.00e+0", CultureInfo.InvariantCulture)
        : v.ToString("G3", CultureInfo.InvariantCulture);
}

/// <summary>Verb options: <c>--name value</c> pairs and bare <c>--flag</c>s.</summary>
public sealed class BenchArgs
{
    readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public static BenchArgs Parse(ReadOnlySpan<string> args)
    {
        var result = new BenchArgs();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"unexpected argument '{args[i]}' (options are --name [value])");
            string name = args[i][2..];
            string? value = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : null;
            result._values[name] = value;
        }
        return result;
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);
    public bool Has(string name) => _values.ContainsKey(name);
    public int GetInt(string name, int fallback) =>
        Get(name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;
}
