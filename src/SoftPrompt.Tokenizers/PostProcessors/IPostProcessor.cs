namespace SoftPrompt.Tokenizers.PostProcessors;

/// <summary>Adds a model's special tokens around an encoded sequence (only when special tokens are asked for).</summary>
internal interface IPostProcessor
{
    /// <summary>The ids with the special tokens of a single sequence around them.</summary>
    List<int> AddSpecialTokens(List<int> ids);
}

/// <summary><c>ByteLevel</c> as a post-processor only trims offsets, which ids do not carry.</summary>
internal sealed class ByteLevelPostProcessor : IPostProcessor
{
    public List<int> AddSpecialTokens(List<int> ids) => ids;
}

/// <summary><c>Sequence</c>: each processor in turn.</summary>
internal sealed class SequencePostProcessor(IPostProcessor[] steps) : IPostProcessor
{
    public List<int> AddSpecialTokens(List<int> ids)
    {
        foreach (var s in steps) ids = s.AddSpecialTokens(ids);
        return ids;
    }
}

/// <summary><c>BertProcessing</c> (<c>[CLS] A [SEP]</c>) and <c>RobertaProcessing</c> (<c>&lt;s&gt; A &lt;/s&gt;</c>).</summary>
internal sealed class ClsSepPostProcessor(int cls, int sep) : IPostProcessor
{
    public List<int> AddSpecialTokens(List<int> ids)
    {
        var result = new List<int>(ids.Count + 2) { cls };
        result.AddRange(ids);
        result.Add(sep);
        return result;
    }

    /// <summary>Reads <c>"cls": ["[CLS]", 101]</c> and <c>"sep": ["[SEP]", 102]</c>.</summary>
    public static ClsSepPostProcessor FromJson(TokenizerJson json)
    {
        int Id(string key)
        {
            var pair = json.Get(key);
            if (pair.Length != 2) throw pair.Error("expected [token, id]");
            return pair[1].Int();
        }
        return new ClsSepPostProcessor(Id("cls"), Id("sep"));
    }
}

/// <summary><c>TemplateProcessing</c>: the <c>single</c> template, e.g. <c>&lt;s&gt; $A</c>, with the ids of its special tokens.</summary>
internal sealed class TemplatePostProcessor : IPostProcessor
{
    readonly List<int[]?> _single = [];   // null stands for the sequence

    public TemplatePostProcessor(TokenizerJson json)
    {
        var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (json.TryGet("special_tokens", out var st))
            foreach (var (name, value) in st.Members())
                specials[name] = value.Get("ids").Items().Select(i => i.Int()).ToArray();
        foreach (var item in json.Get("single").Items())
        {
            if (item.TryGet("Sequence", out _)) _single.Add(null);
            else if (item.TryGet("SpecialToken", out var special))
            {
                var id = special.Get("id");
                _single.Add(specials.TryGetValue(id.String(), out int[]? ids) ? ids
                    : throw id.Error($"special token '{id.String()}' is not in special_tokens"));
            }
            else throw item.Error("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
        }
    }

    public List<int> AddSpecialTokens(List<int> ids)
    {
        var result = new List<int>(ids.Count + 4);
        foreach (var part in _single)
            if (part is null) result.AddRange(ids);
            else result.AddRange(part);
        return result;
    }
}
