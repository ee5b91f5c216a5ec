using System.Text.Json;
using System.Text.Json.Nodes;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>
/// Typed fields of one JSON object read from a file (adapter_config.json, softprompt.json). Every reader is total:
/// a missing field, a null or a value of the wrong JSON kind gives the same one-line <see cref="AdapterFormatException"/>
/// naming the file and the field, never a JsonNode cast exception. Optional readers return null only for a field that is
/// absent or null.
/// </summary>
public sealed class JsonFields(string path, JsonObject o)
{
    /// <summary>The file the object came from, for errors.</summary>
    public string Path => path;

    public JsonObject Object => o;

    /// <summary>Reads a file holding one JSON object.</summary>
    public static JsonFields Read(string path)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new AdapterFormatException($"{path}: not valid JSON ({e.Message})."); }
        catch (IOException e) { throw new AdapterFormatException($"{path}: cannot be read ({e.Message})."); }
        return new JsonFields(path, node as JsonObject ?? throw new AdapterFormatException($"{path}: not a JSON object."));
    }

    public bool Has(string key) => o[key] is not null;

    JsonNode? Get(string key, bool required) =>
        o[key] ?? (required ? throw new AdapterFormatException($"{path}: field '{key}' is missing.") : null);

    public string String(string key) => OptionalString(key) ?? throw Bad(key, "a string");

    public string? OptionalString(string key) => Get(key, false) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw Bad(key, "a string"),
    };

    public int Int(string key, int? fallback = null) => OptionalInt(key, required: fallback is null) ?? fallback!.Value;

    public int? OptionalInt(string key) => OptionalInt(key, required: false);

    int? OptionalInt(string key, bool required) => Get(key, required) switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) && i >= 0 => i,
        _ => throw Bad(key, "a non-negative integer"),
    };

    public double Double(string key, double fallback) => Get(key, false) switch
    {
        null => fallback,
        JsonValue v when v.TryGetValue(out double d) && double.IsFinite(d) => d,
        _ => throw Bad(key, "a number"),
    };

    /// <summary>A dropout probability, in [0, 1).</summary>
    public double Probability(string key, double fallback) => Double(key, fallback) is var p and >= 0 and < 1 ? p : throw Bad(key, "a probability in [0, 1)");

    public bool Bool(string key, bool fallback) => Get(key, false) switch
    {
        null => fallback,
        JsonValue v when v.TryGetValue(out bool b) => b,
        _ => throw Bad(key, "true or false"),
    };

    /// <summary>A nested object's fields, or null when the field is absent or null.</summary>
    public JsonFields? OptionalObject(string key) => Get(key, false) switch
    {
        null => null,
        JsonObject x => new JsonFields($"{path} ({key})", x),
        _ => throw Bad(key, "an object"),
    };

    public AdapterFormatException Bad(string key, string what) => new($"{path}: field '{key}' must be {what}, got {Shown(o[key])}.");

    static string Shown(JsonNode? n)
    {
        string s = n?.ToJsonString() ?? "null";
        return s.Length <= 60 ? s : s[..57] + "...";
    }
}
