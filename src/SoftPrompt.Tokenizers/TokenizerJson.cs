using System.Globalization;
using System.Text.Json;

namespace SoftPrompt.Tokenizers;

/// <summary>
/// A JSON value of a tokenizer file together with its path from the root, so that every error can
/// name the file and the key (<c>pre_tokenizer.pretokenizers[1].pattern</c>).
/// </summary>
internal readonly struct TokenizerJson
{
    public TokenizerJson(JsonElement element, string file, string path)
    {
        Element = element;
        File = file;
        Path = path;
    }

    public JsonElement Element { get; }
    public string File { get; }
    public string Path { get; }

    public JsonValueKind Kind => Element.ValueKind;
    public bool IsNull => Element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public static TokenizerJson Parse(string text, string file)
    {
        try
        {
            var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 256 });
            return new TokenizerJson(doc.RootElement, file, "");
        }
        catch (JsonException e)
        {
            throw new TokenizerFormatException(file, null, $"not valid JSON ({e.Message})", e);
        }
    }

    public TokenizerFormatException Error(string message) => new(File, Path.Length == 0 ? "(root)" : Path, message);

    string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>The member <paramref name="key"/>; missing and null both count as absent.</summary>
    public bool TryGet(string key, out TokenizerJson value)
    {
        if (Element.ValueKind == JsonValueKind.Object && Element.TryGetProperty(key, out var e) && e.ValueKind != JsonValueKind.Null)
        {
            value = new TokenizerJson(e, File, Child(key));
            return true;
        }
        value = default;
        return false;
    }

    public TokenizerJson Get(string key)
    {
        if (Element.ValueKind != JsonValueKind.Object) throw Error($"expected an object, found {Describe()}");
        if (!Element.TryGetProperty(key, out var e) || e.ValueKind == JsonValueKind.Null)
            throw new TokenizerFormatException(File, Child(key), "is missing");
        return new TokenizerJson(e, File, Child(key));
    }

    public TokenizerJson this[int index] => new(Element[index], File, $"{Path}[{index}]");

    public int Length => Element.ValueKind == JsonValueKind.Array ? Element.GetArrayLength() : throw Error($"expected an array, found {Describe()}");

    public IEnumerable<TokenizerJson> Items()
    {
        int n = Length;
        for (int i = 0; i < n; i++) yield return this[i];
    }

    public IEnumerable<(string Key, TokenizerJson Value)> Members()
    {
        if (Element.ValueKind != JsonValueKind.Object) throw Error($"expected an object, found {Describe()}");
        foreach (var p in Element.EnumerateObject()) yield return (p.Name, new TokenizerJson(p.Value, File, Child(p.Name)));
    }

    public string String() => Element.ValueKind == JsonValueKind.String ? Element.GetString()! : throw Error($"expected a string, found {Describe()}");

    public int Int()
    {
        if (Element.ValueKind == JsonValueKind.Number && Element.TryGetInt32(out int v)) return v;
        throw Error($"expected an integer, found {Describe()}");
    }

    public double Double() => Element.ValueKind == JsonValueKind.Number ? Element.GetDouble() : throw Error($"expected a number, found {Describe()}");

    public bool Bool() => Element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Error($"expected true or false, found {Describe()}"),
    };

    public string? OptString(string key) => TryGet(key, out var v) ? v.String() : null;
    public bool OptBool(string key, bool fallback) => TryGet(key, out var v) ? v.Bool() : fallback;
    public int OptInt(string key, int fallback) => TryGet(key, out var v) ? v.Int() : fallback;

    /// <summary>The <c>type</c> member that selects a component's kind.</summary>
    public string TypeName() => Get("type").String();

    public TokenizerFormatException UnknownType(string component, string known)
    {
        var t = Get("type");
        return new TokenizerFormatException(File, t.Path, $"unknown {component} type '{t.String()}' (supported: {known})");
    }

    string Describe()
    {
        string raw = Element.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.Undefined => "nothing",
            _ => Element.GetRawText(),
        };
        return raw.Length > 60 ? raw[..60] + "…" : raw;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{File}:{Path}");
}
