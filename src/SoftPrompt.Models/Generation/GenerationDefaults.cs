using System.Text.Json;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// The end-of-sequence and padding ids a checkpoint declares: generation_config.json first, then
/// config.json, as transformers reads them. eos_token_id may be one id or a list (Llama 3 ends at
/// both &lt;|end_of_text|&gt; and &lt;|eot_id|&gt;).
/// </summary>
public sealed record GenerationDefaults(IReadOnlyList<int> EosTokenIds, int? PadTokenId, int? BosTokenId)
{
    public static GenerationDefaults Load(string directory)
    {
        IReadOnlyList<int>? eos = null;
        int? pad = null, bos = null;
        foreach (string file in new[] { "generation_config.json", "config.json" })
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path)) continue;
            JsonElement root;
            try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
            catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})."); }
            eos ??= Ids(root, "eos_token_id", path);
            pad ??= Ids(root, "pad_token_id", path)?.FirstOrDefault();
            bos ??= Ids(root, "bos_token_id", path)?.FirstOrDefault();
        }
        return new GenerationDefaults(eos ?? [], pad, bos);
    }

    static IReadOnlyList<int>? Ids(JsonElement root, string key, string path)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int id)) return [id];
        if (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)))
            return [.. v.EnumerateArray().Select(e => e.GetInt32())];
        throw new InvalidDataException($"{path}: {key} must be an id or a list of ids, got {v.GetRawText()}.");
    }
}
