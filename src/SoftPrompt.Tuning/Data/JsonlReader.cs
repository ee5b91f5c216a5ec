using System.Text.Json;

namespace SoftPrompt.Tuning.Data;

/// <summary>
/// JSON Lines: each non-blank line is one JSON object whose values are strings, numbers or booleans.
/// Numbers keep their source text ("1.50" stays "1.50", so a label written as 1 matches a verbalizer
/// key "1"); booleans become "true"/"false"; null means the field is absent (a template that needs it
/// then says so). Nested objects and arrays are errors naming the line and the field: a template
/// cannot place them, and flattening them silently would hide a wrong file.
/// </summary>
public static class JsonlReader
{
    public static IReadOnlyList<Example> Parse(string text, string source)
    {
        var examples = new List<Example>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            string line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line)) continue;
            examples.Add(new Example(ParseLine(line, source, lineNo), source, lineNo));
        }
        return examples;
    }

    static Dictionary<string, string> ParseLine(string line, string source, int lineNo)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { throw DataFormatException.At(source, lineNo, $"not valid JSON ({e.Message})."); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw DataFormatException.At(source, lineNo, $"each line must be a JSON object, got {root.ValueKind.ToString().ToLowerInvariant()}.");
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                string? value = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Number => p.Value.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Null => null,
                    _ => throw DataFormatException.At(source, lineNo,
                        $"field '{p.Name}' is a JSON {p.Value.ValueKind.ToString().ToLowerInvariant()}; fields must be strings, numbers or booleans."),
                };
                if (fields.ContainsKey(p.Name)) throw DataFormatException.At(source, lineNo, $"field '{p.Name}' appears twice.");
                if (value is not null) fields[p.Name] = value;
            }
            return fields;
        }
    }
}
