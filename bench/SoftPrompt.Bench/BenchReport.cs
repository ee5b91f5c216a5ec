using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace SoftPrompt.Bench;

/// <summary>One measurement: our figure, the reference implementation's (if it ran), and their ratio.</summary>
public sealed record BenchRow(string Name, double Ours, double? Reference, string Unit)
{
    /// <summary>Ours / Reference: above 1 means faster for throughput units (GFLOP/s, tokens/s).</summary>
    public double? Ratio => Reference is > 0 ? Ours / Reference : null;
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
            string ratio = r.Ratio is { } x
                ? $"[{(x >= 0.9 ? "green" : x >= 0.8 ? "yellow" : "red")}]{x.ToString("F2", CultureInfo.InvariantCulture)}[/]"
                : "";
            table.AddRow(Markup.Escape(r.Name), Format(r.Ours), r.Reference is { } v ? Format(v) : "", ratio, Markup.Escape(r.Unit));
        }
        AnsiConsole.Write(table);
    }

    public static void WriteJson(string path, IReadOnlyList<BenchRow> rows)
    {
        var items = rows.Select(r => new { name = r.Name, ours = r.Ours, reference = r.Reference, ratio = r.Ratio, unit = r.Unit });
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, JsonSerializer.Serialize(items, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        Console.WriteLine($"wrote {path}");
    }

    static string Format(double v) => v.ToString(v >= 100 ? "F1" : "F2", CultureInfo.InvariantCulture);
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
