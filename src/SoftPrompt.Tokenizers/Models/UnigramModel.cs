using System.Text;

namespace SoftPrompt.Tokenizers.Models;

/// <summary>
/// <c>Unigram</c> (sentencepiece / T5): the segmentation with the highest total log-probability (Viterbi);
/// characters no piece covers are unknown (score: lowest piece score − 10), and adjacent unknowns fuse.
/// Pieces missing from the vocabulary fall back to <c>&lt;0xNN&gt;</c> byte tokens when byte_fallback is on.
/// </summary>
internal sealed class UnigramModel : ITokenizerModel
{
    const double UnknownPenalty = 10.0;
    readonly Vocabulary _vocab;
    readonly double[] _scores;
    readonly int _unkId;
    readonly bool _byteFallback;
    readonly double _unkScore;
    readonly int _maxPieceLength;

    public UnigramModel(List<(string Piece, double Score)> pieces, int unkId, bool byteFallback)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        _scores = new double[pieces.Count];
        for (int i = 0; i < pieces.Count; i++)
        {
            ids.TryAdd(pieces[i].Piece, i);
            _scores[i] = pieces[i].Score;
            _maxPieceLength = Math.Max(_maxPieceLength, pieces[i].Piece.Length);
        }
        _vocab = new Vocabulary(ids);
        _unkId = unkId;
        _byteFallback = byteFallback;
        _unkScore = (pieces.Count == 0 ? 0 : _scores.Min()) - UnknownPenalty;
    }

    public string Name => "Unigram";
    public int VocabSize => _scores.Length;
    public int? TokenToId(string token) => _vocab.Get(token);
    public string? IdToToken(int id) => _vocab.Token(id);

    public void Encode(PreTokenizedString text, List<int> ids)
    {
        foreach (var piece in text.Pieces) EncodeWord(piece.Span, ids);
    }

    void EncodeWord(ReadOnlySpan<char> s, List<int> ids)
    {
        if (s.IsEmpty) return;
        int n = s.Length;
        var bestScore = new double[n + 1];
        var bestStart = new int[n + 1];
        var bestId = new int[n + 1];
        Array.Fill(bestStart, -1);
        for (int start = 0; start < n;)
        {
            if (start > 0 && bestStart[start] < 0) { start++; continue; }   // inside a surrogate pair
            double here = bestScore[start];
            int charLen = char.IsHighSurrogate(s[start]) && start + 1 < n && char.IsLowSurrogate(s[start + 1]) ? 2 : 1;
            bool single = false;
            for (int len = 1; len <= _maxPieceLength && start + len <= n; len++)
            {
                if (!_vocab.TryGet(s.Slice(start, len), out int id)) continue;
                int end = start + len;
                double score = here + _scores[id];
                if (bestStart[end] < 0 || score > bestScore[end]) { bestScore[end] = score; bestStart[end] = start; bestId[end] = id; }
                if (len == charLen) single = true;
            }
            if (!single)
            {
                int end = start + charLen;
                double score = here + _unkScore;
                if (bestStart[end] < 0 || score > bestScore[end])
                {
                    if (_unkId < 0) throw new InvalidOperationException("Unigram: a character has no piece and the model has no unk_id");
                    bestScore[end] = score; bestStart[end] = start; bestId[end] = _unkId;
                }
            }
            start += charLen;
        }
        // Walk back, fusing runs of unknowns into one piece.
        var pieces = new List<(int Start, int End)>();
        for (int end = n; end > 0;)
        {
            int start = bestStart[end];
            pieces.Add((start, end));
            end = start;
        }
        pieces.Reverse();
        int k = 0;
        while (k < pieces.Count)
        {
            var (start, end) = pieces[k];
            if (bestId[end] == _unkId)
                while (k + 1 < pieces.Count && bestId[pieces[k + 1].End] == _unkId) { k++; end = pieces[k].End; }
            k++;
            var sub = s[start..end];
            if (_vocab.TryGet(sub, out int id)) { ids.Add(id); continue; }
            if (_byteFallback && TryBytes(sub, ids)) continue;
            ids.Add(_unkId);
        }
    }

    bool TryBytes(ReadOnlySpan<char> sub, List<int> ids)
    {
        var bytes = Encoding.UTF8.GetBytes(sub.ToString());
        var found = new int[bytes.Length];
        for (int i = 0; i < bytes.Length; i++)
            if (_vocab.Get($"<0x{bytes[i]:X2}>") is { } b) found[i] = b;
            else return false;
        ids.AddRange(found);
        return true;
    }

    public static UnigramModel FromJson(TokenizerJson json)
    {
        var vocab = json.Get("vocab");
        var pieces = new List<(string, double)>(vocab.Length);
        foreach (var item in vocab.Items())
        {
            if (item.Length != 2) throw item.Error("expected [piece, score]");
            var score = item[1];
            if (score.Kind != System.Text.Json.JsonValueKind.Number) throw score.Error("expected a number");
            pieces.Add((item[0].String(), SerdeJsonFloat.Parse(score.Element.GetRawText())));
        }
        int unk = json.TryGet("unk_id", out var u) ? u.Int() : -1;
        if (unk >= pieces.Count) throw json.Get("unk_id").Error($"unk_id {unk} is past the end of the vocabulary ({pieces.Count} pieces)");
        return new UnigramModel(pieces, unk, json.OptBool("byte_fallback", false));
    }
}
