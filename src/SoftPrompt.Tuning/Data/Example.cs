namespace SoftPrompt.Tuning.Data;

/// <summary>
/// One record of a dataset: its fields as strings (numbers and booleans keep their source text) and
/// where it came from, so that every later error — a missing field, an unknown label — can name
/// the file and line. Line is 1-based: the line the record starts on (a quoted CSV field may span lines).
/// </summary>
public sealed record Example(IReadOnlyDictionary<string, string> Fields, string Source, int Line)
{
    /// <summary>The field's value; a DataFormatException naming file:line and the field when the record lacks it.</summary>
    public string Field(string name) =>
        Fields.TryGetValue(name, out var v) ? v
        : throw DataFormatException.At(Source, Line, $"field '{name}' is missing (the record has: {string.Join(", ", Fields.Keys.Select(k => $"'{k}'"))}).");

    /// <summary>"file:line", for messages.</summary>
    public string Where => $"{Source}:{Line}";

    /// <summary>An example built in code (tests, serving): source "(memory)".</summary>
    public static Example Of(params (string Name, string Value)[] fields) =>
        new(fields.ToDictionary(f => f.Name, f => f.Value), "(memory)", 1);
}
