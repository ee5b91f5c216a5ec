using System.Globalization;
using System.Text;

namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary>
/// The pre-tokenizers that cut on a character predicate: <c>WhitespaceSplit</c>, <c>BertPreTokenizer</c>,
/// <c>Punctuation</c>, <c>Digits</c>, <c>CharDelimiterSplit</c>. Predicates are on code points, as in Rust.
/// </summary>
internal sealed class CharacterSplitPreTokenizer(string name, Func<Rune, bool> isDelimiter, SplitBehavior behavior) : IPreTokenizer
{
    public void PreTokenize(PreTokenizedString text) =>
        text.Split(text, (t, piece, output) =>
        {
            t.Matches.Clear();
            var span = piece.Span;
            for (int i = 0; i < span.Length;)
            {
                Rune.DecodeFromUtf16(span[i..], out var r, out int w);
                if (isDelimiter(r)) t.Matches.Add((i, w));
                i += w;
            }
            Splitter.Apply(piece, t.Matches, behavior, invert: false, output);
        });

    public string Name => name;

    /// <summary>Rust's <c>char::is_whitespace</c> (the White_Space property).</summary>
    public static bool IsWhitespace(Rune r) => Rune.IsWhiteSpace(r);

    /// <summary>BERT's punctuation: ASCII punctuation or any Unicode P* category.</summary>
    public static bool IsBertPunctuation(Rune r)
    {
        if (r.Value is >= 33 and <= 126) return !char.IsAsciiLetterOrDigit((char)r.Value);
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.OtherPunctuation or UnicodeCategory.OpenPunctuation;
    }

    /// <summary>Rust's <c>char::is_numeric</c>: Nd, Nl, No.</summary>
    public static bool IsNumeric(Rune r) =>
        Rune.GetUnicodeCategory(r) is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber;

    public static IPreTokenizer WhitespaceSplit() => new CharacterSplitPreTokenizer("WhitespaceSplit", IsWhitespace, SplitBehavior.Removed);

    public static IPreTokenizer Punctuation(SplitBehavior behavior) => new CharacterSplitPreTokenizer("Punctuation", IsBertPunctuation, behavior);

    public static IPreTokenizer Digits(bool individual) =>
        new CharacterSplitPreTokenizer("Digits", IsNumeric, individual ? SplitBehavior.Isolated : SplitBehavior.Contiguous);

    public static IPreTokenizer CharDelimiter(char delimiter) =>
        new CharacterSplitPreTokenizer("CharDelimiterSplit", r => r.Value == delimiter, SplitBehavior.Removed);

    /// <summary>BERT: cut on whitespace (dropped), then isolate each punctuation character.</summary>
    public static IPreTokenizer Bert() =>
        new Named("BertPreTokenizer", new SequencePreTokenizer([WhitespaceSplit(), Punctuation(SplitBehavior.Isolated)]));

    sealed class Named(string name, IPreTokenizer inner) : IPreTokenizer
    {
        public void PreTokenize(PreTokenizedString text) => inner.PreTokenize(text);
        public string Name => name;
    }
}

/// <summary><c>Whitespace</c>: the pieces matching <c>\w+|[^\w\s]+</c>, i.e. words and runs of symbols, whitespace dropped.</summary>
internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    public void PreTokenize(PreTokenizedString text) =>
        text.Split(0, static (_, piece, output) =>
        {
            var span = piece.Span;
            int i = 0;
            while (i < span.Length)
            {
                int kind = Kind(span, i, out int w);
                if (kind == 0) { i += w; continue; }
                int start = i;
                i += w;
                while (i < span.Length && Kind(span, i, out int w2) == kind) i += w2;
                output.Add(piece.Slice(start, i - start));
            }
        });

    /// <summary>
    /// 0 whitespace, 1 word character (Unicode \w: Alphabetic — letters, letter numbers, the circled
    /// letters —, marks, decimal digits, connector punctuation, Join_Control), 2 other.
    /// </summary>
    static int Kind(ReadOnlySpan<char> s, int i, out int width)
    {
        Rune.DecodeFromUtf16(s[i..], out var r, out width);
        if (Rune.IsWhiteSpace(r)) return 0;
        if (r.Value is 0x200C or 0x200D or >= 0x24B6 and <= 0x24E9 or >= 0x1F130 and <= 0x1F149 or >= 0x1F150 and <= 0x1F169 or >= 0x1F170 and <= 0x1F189) return 1;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter or UnicodeCategory.ModifierLetter
                or UnicodeCategory.OtherLetter or UnicodeCategory.LetterNumber or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                or UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.ConnectorPunctuation => 1,
            _ => 2,
        };
    }

    public string Name => "Whitespace";
}
