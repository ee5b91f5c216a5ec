using System.Text.Json.Nodes;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>PEFT's target_modules for a set of adapted linear layers.</summary>
public static class PeftTargetModules
{
    /// <summary>
    /// The shortest module-name suffixes ("c_attn", "attn.c_proj") whose matches, by PEFT's rule (path == name or ends
    /// with "." + name), are exactly the adapted layers; or, when only some blocks are adapted, a regex of their full paths.
    /// </summary>
    public static JsonNode For(HashSet<string> adapted, List<string> all)
    {
        bool Matches(string path, string name) => path == name || path.EndsWith("." + name, StringComparison.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string path in adapted)
        {
            var parts = path.Split('.');
            string? pick = null;
            for (int k = 1; k <= parts.Length && pick is null; k++)
            {
                string suffix = string.Join('.', parts[^k..]);
                if (all.Where(p => Matches(p, suffix)).All(adapted.Contains)) pick = suffix;
            }
            names.Add(pick!);
        }
        if (all.Where(p => names.Any(n => Matches(p, n))).ToHashSet().SetEquals(adapted))
            return new JsonArray([.. names.Select(n => (JsonNode?)JsonValue.Create(n))]);
        return JsonValue.Create(string.Join('|', adapted.Order(StringComparer.Ordinal).Select(System.Text.RegularExpressions.Regex.Escape)))!;
    }
}
