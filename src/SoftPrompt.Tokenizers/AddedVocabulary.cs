using System.Buffers;
using System.Globalization;
using System.Text;

namespace SoftPrompt.Tokenizers;

/// <summary>An entry of <c>added_tokens</c>.</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);

/// <summary>
/// The added tokens, and the first step of encoding: text is cut at their occurrences (leftmost, then
/// longest, as Hugging Face's Aho-Corasick matcher does), honouring single_word, lstrip and rstrip.
/// Tokens with <c>normalized: false</c> are found in the raw text, the others in the normalized text.
/// </summary>
internal sealed class AddedVocabulary
{
    readonly Dictionary<string, AddedToken> _byContent = new(StringComparer.Ordinal);
    readonly Dictionary<int, AddedToken> _byId = [];
    readonly Matcher _raw, _normalized;

    public AddedVocabulary(IEnumerable<AddedToken> tokens)
    {
        foreach (var t in tokens)
        {
            _byContent[t.Content] = t;
            _byId[t.Id] = t;
        }
        _raw = new Matcher(_byContent.Values.Where(t => !t.Normalized));
        _normalized = new Matcher(_byContent.Values.Where(t => t.Normalized));
    }

    public int Count => _byId.Count;
    public bool HasNormalizedTokens => !_normalized.IsEmpty;
    public IEnumerable<AddedToken> Tokens => _byId.Values;

    public AddedToken? ById(int id) => _byId.GetValueOrDefault(id);
    public AddedToken? ByContent(string content) => _byContent.GetValueOrDefault(content);

    /// <summary>One past the largest added id (0 when there are none).</summary>
    public int MaxIdPlusOne => _byId.Count == 0 ? 0 : _byId.Keys.Max() + 1;

    /// <summary>Appends the parts of <paramref name="text"/>: (piece, -1) for text, (piece, id) for an added token.</summary>
    public void Split(Piece text, bool normalizedPass, List<(Piece Part, int TokenId)> output) =>
        (normalizedPass ? _normalized : _raw).Split(text, output);

    /// <summary>Finds the tokens of one kind (raw or normalized) in a text.</summary>
    sealed class Matcher
    {
        readonly Dictionary<char, AddedToken[]> _byFirstChar = [];
        readonly SearchValues<char> _firstChars;

        public Matcher(IEnumerable<AddedToken> tokens)
        {
            foreach (var g in tokens.Where(t => t.Content.Length > 0).GroupBy(t => t.Content[0]))
                _byFirstChar[g.Key] = [.. g.OrderByDescending(t => t.Content.Length).ThenBy(t => t.Content, StringComparer.Ordinal)];
            _firstChars = SearchValues.Create([.. _byFirstChar.Keys]);
        }

        public bool IsEmpty => _byFirstChar.Count == 0;

        public void Split(Piece text, List<(Piece, int)> output)
        {
            var s = text.Span;
            if (IsEmpty || s.IndexOfAny(_firstChars) < 0)
            {
                output.Add((text, -1));
                return;
            }
            int emitted = 0, i = 0;
            while (i < s.Length)
            {
                int at = s[i..].IndexOfAny(_firstChars);
                if (at < 0) break;
                i += at;
                AddedToken? match = null;
                foreach (var t in _byFirstChar[s[i]])
                    if (s[i..].StartsWith(t.Content, StringComparison.Ordinal)) { match = t; break; }
                if (match is null) { i++; continue; }
                int start = i, stop = i + match.Content.Length;
                i = stop;
                if (match.SingleWord && (start > 0 && IsWordChar(s, start - 1, before: true) || stop < s.Length && IsWordChar(s, stop, before: false)))
                    continue;
                if (match.LStrip)
                {
                    int j = start;
                    while (j > 0 && char.IsWhiteSpace(s[j - 1])) j--;
                    start = Math.Max(j, emitted);
                }
                if (match.RStrip)
                    while (stop < s.Length && char.IsWhiteSpace(s[stop])) stop++;
                i = stop;
                if (emitted < start) output.Add((text.Slice(emitted, start - emitted), -1));
                output.Add((text.Slice(start, stop - start), match.Id));
                emitted = stop;
            }
            if (emitted < s.Length) output.Add((text.Slice(emitted, s.Length - emitted), -1));
        }

        /// <summary>Regex <c>\w</c> on the character just before (or at) a position.</summary>
        static bool IsWordChar(ReadOnlySpan<char> s, int i, bool before)
        {
            Rune r;
            if (before) Rune.DecodeLastFromUtf16(s[..(i + 1)], out r, out _);
            else Rune.DecodeFromUtf16(s[i..], out r, out _);
            return r.Value == '_' || Rune.GetUnicodeCategory(r) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
                or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.LetterNumber;
        }
    }

    public static AddedVocabulary FromJson(TokenizerJson json)
    {
        var tokens = new List<AddedToken>();
        if (!json.IsNull)
            foreach (var t in json.Items())
            {
                string content = t.Get("content").String();
                if (content.Length == 0) throw t.Get("content").Error("an added token cannot be empty");
                bool special = t.OptBool("special", false);
                tokens.Add(new AddedToken(t.Get("id").Int(), content, special, t.OptBool("single_word", false),
                    t.OptBool("lstrip", false), t.OptBool("rstrip", false), t.OptBool("normalized", !special)));
            }
        return new AddedVocabulary(tokens);
    }
}
