using SoftPrompt.Tuning.Data;

namespace SoftPrompt.MetaL;

/// <summary>One task of a collection: its name (the file's) and its examples, each with "input" and "output".</summary>
public sealed record MetaTask(string Name, IReadOnlyList<Example> Examples, string Source)
{
    /// <summary>Reads one JSONL task file; every line needs string fields "input" and "output" (errors name file, line and field).</summary>
    public static MetaTask Load(string path)
    {
        var examples = LoadExamples(path);
        if (examples.Count == 0) throw new DataFormatException($"{path}: no examples.");
        return new MetaTask(Path.GetFileNameWithoutExtension(path), examples, path);
    }

    /// <summary>A task's examples from a JSONL or CSV file, every one with non-empty "input" and "output" (errors name file, line and field).</summary>
    public static IReadOnlyList<Example> LoadExamples(string path)
    {
        var examples = Dataset.Load(path);
        foreach (var e in examples)
            foreach (var field in new[] { EpisodeFormat.InputField, EpisodeFormat.OutputField })
                if (!e.Fields.TryGetValue(field, out var v) || v.Length == 0)
                    throw new DataFormatException($"{e.Where}: field '{field}' is missing or empty (a task's examples are {{\"input\": …, \"output\": …}}).");
        return examples;
    }
}
