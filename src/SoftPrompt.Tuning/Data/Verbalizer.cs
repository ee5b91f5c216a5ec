using System.Text.Json;

namespace SoftPrompt.Tuning.Data;

/// <summary>
/// Maps each class label to one or more words the LM can say for it (P-tuning / PET verbalizers):
/// <c>{"positive": ["great", "good"], "negative": ["terrible"]}</c> in JSON, or <c>pos=great|good,neg=bad</c>
/// on the command line. Labels keep the order they are written in (it breaks score ties). The first
/// word of a label is its training target; all its words compete when scoring (<see cref="LabelScorer"/>).
/// </summary>
public sealed class Verbalizer
{
    readonly Dictionary<string, string[]> _words;

    /// <summary>Labels in the order they were given.</summary>
    public IReadOnlyList<string> Labels { get; }

    Verbalizer(List<(string Label, string[] Words)> entries, string source)
    {
        if (entries.Count == 0) throw new DataFormatException($"{source}: the verbalizer has no labels.");
        _words = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (label, words) in entries)
        {
            if (label.Length == 0) throw new DataFormatException($"{source}: a verbalizer label is empty.");
            if (words.Length == 0) throw new DataFormatException($"{source}: label '{label}' has no words.");
            if (words.Any(w => w.Length == 0)) throw new DataFormatException($"{source}: label '{label}' has an empty word.");
            if (!_words.TryAdd(label, words)) throw new DataFormatException($"{source}: label '{label}' is given twice.");
        }
        Labels = entries.Select(e => e.Label).ToArray();
    }

    public Verbalizer(IEnumerable<KeyValuePair<string, string[]>> labelWords)
        : this(labelWords.Select(kv => (kv.Key, kv.Value)).ToList(), "(verbalizer)") { }

    /// <summary>A JSON object: label → word or [words].</summary>
    public static Verbalizer FromJson(string json, string source = "(json)")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new DataFormatException($"{source}: verbalizer is not valid JSON ({e.Message})."); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFormatException($"{source}: a verbalizer is a JSON object of label → word or [words].");
            var entries = new List<(string, string[])>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                string[] words = p.Value.ValueKind switch
                {
                    JsonValueKind.String => [p.Value.GetString()!],
                    JsonValueKind.Array => p.Value.EnumerateArray().Select(w => w.ValueKind == JsonValueKind.String ? w.GetString()!
                        : throw new DataFormatException($"{source}: label '{p.Name}': words must be strings, got {w.ValueKind.ToString().ToLowerInvariant()}.")).ToArray(),
                    _ => throw new DataFormatException($"{source}: label '{p.Name}' maps to a {p.Value.ValueKind.ToString().ToLowerInvariant()}; expected a word or [words]."),
                };
                entries.Add((p.Name, words));
            }
            return new Verbalizer(entries, source);
        }
    }

    public static Verbalizer Load(string path) =>
        File.Exists(path) ? FromJson(File.ReadAllText(path), path) : throw new DataFormatException($"{path}: file not found.");

    /// <summary>The command-line form <c>label=word|word,label=word</c> (words cannot contain ',', '|' or '='; use JSON for those).</summary>
    public static Verbalizer Parse(string spec)
    {
        string source = $"verbalizer \"{spec}\"";
        var entries = new List<(string, string[])>();
        foreach (var item in spec.Split(','))
        {
            int eq = item.IndexOf('=');
            if (eq < 0 || item.IndexOf('=', eq + 1) >= 0)
                throw new DataFormatException($"{source}: '{item}' is not label=word|word.");
            entries.Add((item[..eq].Trim(), item[(eq + 1)..].Split('|').Select(w => w.Trim()).ToArray()));
        }
        return new Verbalizer(entries, source);
    }

    public bool Contains(string label) => _words.ContainsKey(label);

    /// <summary>The label's words; an error naming the label and the example's file:line when the verbalizer lacks it.</summary>
    public IReadOnlyList<string> WordsFor(string label, Example? example = null)
    {
        if (_words.TryGetValue(label, out var words)) return words;
        string what = $"label '{label}' is not in the verbalizer (labels: {string.Join(", ", Labels.Select(l => $"'{l}'"))}).";
        throw example is null ? new DataFormatException(what) : DataFormatException.At(example.Source, example.Line, what);
    }

    /// <summary>
    /// Each word of the label as tokens, encoded alone after prefix (the space the template implies:
    /// <see cref="Template.ImpliedAnswerPrefix"/>, or RenderOptions.AnswerPrefix). A word may take several tokens.
    /// </summary>
    public IReadOnlyList<int[]> Encode(string label, ITextEncoder encoder, string prefix)
    {
        var words = WordsFor(label);
        var encoded = new int[words.Count][];
        for (int i = 0; i < words.Count; i++)
        {
            encoded[i] = encoder.Encode(prefix + words[i]);
            if (encoded[i].Length == 0) throw new DataFormatException($"verbalizer: word '{words[i]}' of label '{label}' encodes to no tokens.");
        }
        return encoded;
    }
}
