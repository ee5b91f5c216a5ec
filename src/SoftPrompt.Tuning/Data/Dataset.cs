namespace SoftPrompt.Tuning.Data;

/// <summary>
/// Loads task data by extension: <c>.jsonl</c> (one JSON object a line, <see cref="JsonlReader"/>)
/// or <c>.csv</c> (RFC 4180 with a header row, <see cref="CsvReader"/>). A file with no records is
/// an error: training on nothing is never what was meant.
/// </summary>
public static class Dataset
{
    public static IReadOnlyList<Example> Load(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: file not found.");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        string text = File.ReadAllText(path);   // strips a UTF-8 byte-order mark
        IReadOnlyList<Example> examples = ext switch
        {
            ".jsonl" => JsonlReader.Parse(text, path),
            ".csv" => CsvReader.Parse(text, path),
            _ => throw new DataFormatException($"{path}: unknown dataset extension '{ext}' (supported: .jsonl, .csv)."),
        };
        if (examples.Count == 0) throw new DataFormatException($"{path}:1: the file holds no examples.");
        return examples;
    }
}
