using System.Globalization;
using System.Runtime.CompilerServices;

namespace SoftPrompt.Tokenizers;

/// <summary>
/// The three character classes the GPT-2 / Llama 3 / Qwen pre-tokenizer patterns ask about —
/// Oniguruma's <c>\p{L}</c>, <c>\p{N}</c> and <c>\s</c> — decided per code point, as Oniguruma does,
/// not per UTF-16 unit (.NET Regex sees a surrogate, never the emoji or CJK letter it encodes).
/// </summary>
internal static class CharClass
{
    public const byte Other = 0, Letter = 1, Number = 2, Space = 3;

    static readonly byte[] Bmp = BuildBmp();

    static byte[] BuildBmp()
    {
        var t = new byte[65536];
        for (int c = 0; c < 65536; c++) t[c] = Classify(c);
        return t;
    }

    static byte Classify(int codePoint)
    {
        if (codePoint is >= 0xD800 and <= 0xDFFF) return Other;
        if (IsOnigurumaSpace(codePoint)) return Space;
        return CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
            _ => Other,
        };
    }

    /// <summary>Oniguruma's Unicode <c>\s</c>: U+0009–U+000D, U+0085 and the Zs, Zl, Zp categories.</summary>
    static bool IsOnigurumaSpace(int c) =>
        c is >= 9 and <= 13 or 0x85 ||
        CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    /// <summary>The class of the code point at <paramref name="i"/> and how many UTF-16 units it takes (1 or 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte At(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (!char.IsHighSurrogate(c) || i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
        {
            width = 1;
            return Bmp[c];
        }
        width = 2;
        return Classify(char.ConvertToUtf32(c, s[i + 1]));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte OfBmp(char c) => Bmp[c];
}
