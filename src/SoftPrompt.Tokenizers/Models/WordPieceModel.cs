namespace SoftPrompt.Tokenizers.Models;

/// <summary>
/// <c>WordPiece</c> (BERT): greedy longest-match-first from the left; pieces after the first carry the
/// continuing prefix (##); a word with an unmatchable rest, or longer than the limit, is one unknown token.
/// </summary>
internal sealed class WordPieceModel(Vocabulary vocab, string unkToken, string prefix, int maxInputCharsPerWord) : ITokenizerModel
{
    public string Name => "WordPiece";
    public int VocabSize => vocab.Size;
    public int? TokenToId(string token) => vocab.Get(token);
    public string? IdToToken(int id) => vocab.Token(id);

    public void Encode(PreTokenizedString text, List<int> ids)
    {
        Span<char> buffer = stackalloc char[128];
        foreach (var piece in text.Pieces)
        {
            var word = piece.Span;
            if (word.IsEmpty) continue;
            if (System.Text.Encoding.UTF32.GetByteCount(word) / 4 > maxInputCharsPerWord) { ids.Add(Unk()); continue; }
            int before = ids.Count, start = 0;
            while (start < word.Length)
            {
                int end = word.Length, found = -1;
                while (start < end)
                {
                    var sub = word[start..end];
                    int len = sub.Length + (start > 0 ? prefix.Length : 0);
                    Span<char> candidate = len <= buffer.Length ? buffer[..len] : new char[len];
                    if (start > 0) { prefix.CopyTo(candidate); sub.CopyTo(candidate[prefix.Length..]); }
                    else sub.CopyTo(candidate);
                    if (vocab.TryGet(candidate, out int id)) { found = id; break; }
                    end -= end - 1 > start && char.IsLowSurrogate(word[end - 1]) && char.IsHighSurrogate(word[end - 2]) ? 2 : 1;
                }
                if (found < 0)
                {
                    ids.RemoveRange(before, ids.Count - before);
                    ids.Add(Unk());
                    break;
                }
                ids.Add(found);
                start = end;
            }
        }
    }

    int Unk() => vocab.Get(unkToken) ?? throw new InvalidOperationException($"the WordPiece unk_token '{unkToken}' is not in the vocabulary");

    public static WordPieceModel FromJson(TokenizerJson json) =>
        new(Vocabulary.FromJson(json.Get("vocab")), json.OptString("unk_token") ?? "[UNK]", json.OptString("continuing_subword_prefix") ?? "##",
            json.OptInt("max_input_chars_per_word", 100));
}

/// <summary><c>WordLevel</c>: each piece is a token or the unknown token.</summary>
internal sealed class WordLevelModel(Vocabulary vocab, string? unkToken) : ITokenizerModel
{
    public string Name => "WordLevel";
    public int VocabSize => vocab.Size;
    public int? TokenToId(string token) => vocab.Get(token);
    public string? IdToToken(int id) => vocab.Token(id);

    public void Encode(PreTokenizedString text, List<int> ids)
    {
        foreach (var piece in text.Pieces)
        {
            if (vocab.TryGet(piece.Span, out int id)) ids.Add(id);
            else if (unkToken is not null && vocab.Get(unkToken) is { } unk) ids.Add(unk);
            else throw new InvalidOperationException($"WordLevel: '{piece.Span}' is not in the vocabulary, and {(unkToken is null ? "there is no unk_token" : $"nor is the unk_token '{unkToken}'")}.");
        }
    }

    public static WordLevelModel FromJson(TokenizerJson json) => new(Vocabulary.FromJson(json.Get("vocab")), json.OptString("unk_token"));
}
