using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SoftPrompt.Tokenizers.Normalizers;

/// <summary>Rewrites a segment of input text before it is pre-tokenized.</summary>
internal interface INormalizer
{
    string Normalize(string text);
    string Name { get; }
}

/// <summary><c>Sequence</c>: each normalizer in turn.</summary>
internal sealed class SequenceNormalizer(INormalizer[] steps) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var s in steps) text = s.Normalize(text);
        return text;
    }

    public string Name => string.Join(" + ", steps.Select(s => s.Name));
}

/// <summary><c>NFC</c>, <c>NFD</c>, <c>NFKC</c>, <c>NFKD</c>.</summary>
internal sealed class UnicodeNormalizer(string name, bool compose, bool compatibility) : INormalizer
{
    public string Normalize(string text) => UnicodeNormalization.Normalize(text, compose, compatibility);
    public string Name => name;
}

/// <summary><c>Lowercase</c>: Rust's <c>str::to_lowercase</c> (full mapping, final sigma).</summary>
internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text) => ToLower(text);
    public string Name => "Lowercase";

    public static string ToLower(string text)
    {
        bool ascii = true;
        foreach (char c in text) if (c >= 0x80) { ascii = false; break; }
        if (ascii) return text.ToLowerInvariant();
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out int w);
            if (r.Value == 0x130) sb.Append("i\u0307");                       // İ lowercases to two characters
            else if (r.Value == 0x3A3) sb.Append(IsFinalSigma(text, i) ? 'ς' : 'σ');
            else sb.Append(Rune.ToLowerInvariant(r).ToString());
            i += w;
        }
        return sb.ToString();
    }

    /// <summary>Σ is final when a cased letter precedes it and none follows (case-ignorable characters skipped).</summary>
    static bool IsFinalSigma(string s, int i)
    {
        int j = i - 1;
        while (j >= 0 && IsCaseIgnorable(s[j])) j--;
        if (j < 0 || !char.IsLetter(s[j])) return false;
        int k = i + 1;
        while (k < s.Length && IsCaseIgnorable(s[k])) k++;
        return k >= s.Length || !char.IsLetter(s[k]);
    }

    static bool IsCaseIgnorable(char c) => c is '\'' or '.' or ':' or '^' or '`' or '\u00AD' or '\u2019'
        || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;
}

/// <summary><c>Strip</c>: whitespace off the left and/or right end.</summary>
internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text)
    {
        int start = 0, end = text.Length;
        if (left) while (start < end && Rune.IsWhiteSpace(Rune.GetRuneAt(text, start))) start++;
        if (right) while (end > start && char.IsWhiteSpace(text[end - 1])) end--;
        return start == 0 && end == text.Length ? text : text[start..end];
    }

    public string Name => "Strip";
}

/// <summary><c>StripAccents</c>: removes combining marks (usually after NFD).</summary>
internal sealed class StripAccentsNormalizer : INormalizer
{
    public string Normalize(string text) => RemoveMarks(text, nonSpacingOnly: false);
    public string Name => "StripAccents";

    public static string RemoveMarks(string text, bool nonSpacingOnly)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var r in text.EnumerateRunes())
        {
            var cat = Rune.GetUnicodeCategory(r);
            bool mark = nonSpacingOnly ? cat == UnicodeCategory.NonSpacingMark
                : cat is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;
            if (!mark) sb.Append(r.ToString());
        }
        return sb.ToString();
    }
}

/// <summary><c>Prepend</c>: a fixed string in front of non-empty text.</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
    public string Name => "Prepend";
}

/// <summary><c>Replace</c>: every occurrence of a string or regex by the content.</summary>
internal sealed class ReplaceNormalizer : INormalizer
{
    readonly string? _literal;
    readonly Regex? _regex;
    readonly string _content;

    public ReplaceNormalizer(TokenizerJson json)
    {
        var pattern = json.Get("pattern");
        _content = json.Get("content").String();
        if (pattern.TryGet("String", out var s)) _literal = s.String();
        else if (pattern.TryGet("Regex", out var r))
        {
            try { _regex = new Regex(r.String(), RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw r.Error($"regular expression not supported: {e.Message}"); }
        }
        else throw pattern.Error("expected {\"String\": ...} or {\"Regex\": ...}");
    }

    public string Normalize(string text) =>
        _literal is not null ? (_literal.Length == 0 ? text : text.Replace(_literal, _content, StringComparison.Ordinal))
        : _regex!.Replace(text, _content.Replace("$", "$$"));

    public string Name => "Replace";
}

/// <summary><c>BertNormalizer</c>: clean control characters, space out CJK ideographs, strip accents, lowercase.</summary>
internal sealed class BertNormalizer(bool cleanText, bool handleChineseChars, bool? stripAccents, bool lowercase) : INormalizer
{
    public string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (var r in text.EnumerateRunes())
        {
            int c = r.Value;
            if (cleanText)
            {
                if (c == 0 || c == 0xFFFD || IsControl(r)) continue;
                if (c is '\t' or '\n' or '\r' || Rune.IsWhiteSpace(r)) { sb.Append(' '); continue; }
            }
            if (handleChineseChars && IsChinese(c)) sb.Append(' ').Append(r.ToString()).Append(' ');
            else sb.Append(r.ToString());
        }
        string s = sb.ToString();
        if (stripAccents ?? lowercase) s = StripAccentsNormalizer.RemoveMarks(UnicodeNormalization.Normalize(s, compose: false, compatibility: false), nonSpacingOnly: true);
        if (lowercase) s = LowercaseNormalizer.ToLower(s);
        return s;
    }

    static bool IsControl(Rune r) => r.Value is not ('\t' or '\n' or '\r')
        && Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;

    static bool IsChinese(int c) => c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
        or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    public string Name => "BertNormalizer";
}
