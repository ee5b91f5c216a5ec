using System.Text.Json;

namespace SoftPrompt.Tokenizers.Models;

internal sealed partial class BpeModel
{
    /// <summary>The <c>model</c> object of a tokenizer.json with <c>"type": "BPE"</c>.</summary>
    public static BpeModel FromJson(TokenizerJson model)
    {
        if (model.TryGet("dropout", out var dropout) && dropout.Double() != 0)
            throw dropout.Error("BPE dropout is not supported (it makes encoding random); use null");
        var vocab = Vocabulary.FromJson(model.Get("vocab"));
        string? prefix = model.OptString("continuing_subword_prefix");
        var mergesJson = model.TryGet("merges", out var m) ? m : default;
        var merges = new Dictionary<long, Merge>();
        if (!mergesJson.IsNull)
        {
            int n = mergesJson.Length;
            merges.EnsureCapacity(n);
            int rank = 0;
            foreach (var item in mergesJson.Element.EnumerateArray())
            {
                // "a b" (older files) or ["a", "b"] (newer ones, which allow spaces inside tokens).
                string? a, b;
                if (item.ValueKind == JsonValueKind.String)
                {
                    string line = item.GetString()!;
                    int space = line.IndexOf(' ');
                    if (space < 0 || line.IndexOf(' ', space + 1) >= 0)
                        throw mergesJson[rank].Error($"expected two tokens separated by one space, found \"{line}\"");
                    (a, b) = (line[..space], line[(space + 1)..]);
                }
                else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2
                    && item[0].ValueKind == JsonValueKind.String && item[1].ValueKind == JsonValueKind.String)
                    (a, b) = (item[0].GetString(), item[1].GetString());
                else throw mergesJson[rank].Error("expected \"a b\" or [\"a\", \"b\"]");
                AddMerge(merges, vocab, a!, b!, rank, prefix, mergesJson.File, $"{mergesJson.Path}[{rank}]");
                rank++;
            }
        }
        return new BpeModel(vocab, merges, model.OptString("unk_token"), model.OptBool("fuse_unk", false), model.OptBool("byte_fallback", false),
            model.OptBool("ignore_merges", false), prefix, model.OptString("end_of_word_suffix"));
    }

    /// <summary>
    /// Adds merge number <paramref name="rank"/>; both parts and their concatenation (the right part
    /// less the continuing-subword prefix) must be tokens. A repeated pair keeps its last rank, as in Hugging Face.
    /// </summary>
    internal static void AddMerge(Dictionary<long, Merge> merges, Vocabulary vocab, string a, string b, int rank, string? prefix, string file, string where)
    {
        if (vocab.Get(a) is not { } left) throw new TokenizerFormatException(file, where, $"merge '{a} {b}': '{a}' is not in the vocabulary");
        if (vocab.Get(b) is not { } right) throw new TokenizerFormatException(file, where, $"merge '{a} {b}': '{b}' is not in the vocabulary");
        int cut = prefix is null ? 0 : Math.Min(prefix.Length, b.Length);
        string merged = string.Concat(a, b.AsSpan(cut));
        if (vocab.Get(merged) is not { } id) throw new TokenizerFormatException(file, where, $"merge '{a} {b}': the merged token '{merged}' is not in the vocabulary");
        merges[Key(left, right)] = new Merge(rank, id);
    }
}
