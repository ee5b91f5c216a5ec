namespace SoftPrompt.Tokenizers.Models;

/// <summary>A token ↔ id table read from a <c>vocab</c> object, looked up by string or by span without allocating.</summary>
internal sealed class Vocabulary
{
    readonly Dictionary<string, int> _ids;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _bySpan;
    readonly string?[] _tokens;

    public Vocabulary(Dictionary<string, int> ids)
    {
        _ids = ids;
        _bySpan = ids.GetAlternateLookup<ReadOnlySpan<char>>();
        int size = ids.Count == 0 ? 0 : ids.Values.Max() + 1;
        _tokens = new string?[size];
        foreach (var (token, id) in ids) _tokens[id] = token;
    }

    public int Count => _ids.Count;

    /// <summary>One past the largest id.</summary>
    public int Size => _tokens.Length;

    public bool TryGet(ReadOnlySpan<char> token, out int id) => _bySpan.TryGetValue(token, out id);

    public int? Get(string token) => _ids.TryGetValue(token, out int id) ? id : null;

    public string? Token(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    /// <summary>Reads <c>{"token": id, ...}</c>; ids must be non-negative integers.</summary>
    public static Vocabulary FromJson(TokenizerJson vocab)
    {
        if (vocab.Kind != System.Text.Json.JsonValueKind.Object) throw vocab.Error("expected an object of token: id");
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        // Raw elements here: a path string per entry would cost more than the table itself.
        foreach (var p in vocab.Element.EnumerateObject())
        {
            if (p.Value.ValueKind != System.Text.Json.JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw vocab.Get(p.Name).Error($"expected a non-negative integer id, found {p.Value.GetRawText()}");
            ids[p.Name] = id;
        }
        return new Vocabulary(ids);
    }
}
