namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary>
/// What a Split pre-tokenizer cuts on: finds the non-overlapping matches, left to right, as
/// (start, length) pairs in UTF-16 units.
/// </summary>
internal interface ISplitPattern
{
    void FindMatches(ReadOnlySpan<char> text, List<(int Start, int Length)> matches);
}

/// <summary>A literal string (<c>{"String": " "}</c>).</summary>
internal sealed class LiteralPattern(string literal) : ISplitPattern
{
    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int Length)> matches)
    {
        if (literal.Length == 0) return;
        int pos = 0;
        while (pos <= text.Length - literal.Length)
        {
            int at = text[pos..].IndexOf(literal.AsSpan(), StringComparison.Ordinal);
            if (at < 0) break;
            matches.Add((pos + at, literal.Length));
            pos += at + literal.Length;
        }
    }
}

/// <summary>Any other regular expression, run by .NET's Regex (the known GPT-2/Llama 3/Qwen patterns never get here).</summary>
internal sealed class RegexPattern : ISplitPattern
{
    readonly System.Text.RegularExpressions.Regex _regex;

    public RegexPattern(string pattern, TokenizerJson where)
    {
        try { _regex = new System.Text.RegularExpressions.Regex(OnigurumaToDotNet(pattern), System.Text.RegularExpressions.RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw where.Error($"regular expression not supported: {e.Message}"); }
    }

    /// <summary>The few Oniguruma spellings .NET reads differently.</summary>
    static string OnigurumaToDotNet(string pattern) => pattern.Replace("\\h", "[0-9a-fA-F]");

    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int Length)> matches)
    {
        foreach (var m in _regex.EnumerateMatches(text))
            if (m.Length > 0) matches.Add((m.Index, m.Length));
    }
}

/// <summary>
/// GPT-2's, Llama 3's and Qwen 2's pre-tokenizer regexes as hand-written scanners with the same
/// semantics as Oniguruma's leftmost-first alternation over code points. Every position starts a match
/// of these patterns, so a match is just "where the next piece ends".
/// </summary>
internal sealed class KnownPattern : ISplitPattern
{
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public enum Kind { Gpt2, Llama3, Qwen2 }

    public Kind Which { get; }

    KnownPattern(Kind kind) => Which = kind;

    public static KnownPattern? TryRecognise(string pattern) => pattern switch
    {
        Gpt2 => new KnownPattern(Kind.Gpt2),
        Llama3 => new KnownPattern(Kind.Llama3),
        Qwen2 => new KnownPattern(Kind.Qwen2),
        _ => null,
    };

    public static readonly KnownPattern Gpt2Scanner = new(Kind.Gpt2);

    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int Length)> matches)
    {
        int pos = 0;
        while (pos < text.Length)
        {
            int end = NextEnd(text, pos);
            matches.Add((pos, end - pos));
            pos = end;
        }
    }

    /// <summary>Where the match that starts at <paramref name="pos"/> ends.</summary>
    public int NextEnd(ReadOnlySpan<char> s, int pos) => Which == Kind.Gpt2 ? Gpt2End(s, pos) : Llama3End(s, pos, Which == Kind.Llama3 ? 3 : 1);

    static int Gpt2End(ReadOnlySpan<char> s, int i)
    {
        char c = s[i];
        if (c == '\'' && Contraction(s, i, ignoreCase: false) is > 0 and var len) return i + len;
        // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
        int j = c == ' ' && i + 1 < s.Length ? i + 1 : i;
        byte cls = CharClass.At(s, j, out int w);
        if (cls != CharClass.Space) return Run(s, j + w, cls);
        return WhitespaceEnd(s, i);
    }

    static int Llama3End(ReadOnlySpan<char> s, int i, int maxDigits)
    {
        char c = s[i];
        if (c == '\'' && Contraction(s, i, ignoreCase: true) is > 0 and var len) return i + len;
        byte cls = CharClass.At(s, i, out int w);
        // '[^\r\n\p{L}\p{N}]?\p{L}+'
        if (cls == CharClass.Letter) return Run(s, i + w, CharClass.Letter);
        if (cls != CharClass.Number && c != '\r' && c != '\n' && i + w < s.Length && CharClass.At(s, i + w, out int w2) == CharClass.Letter)
            return Run(s, i + w + w2, CharClass.Letter);
        // '\p{N}{1,3}' (Qwen: '\p{N}')
        if (cls == CharClass.Number)
        {
            int end = i + w;
            for (int k = 1; k < maxDigits && end < s.Length && CharClass.At(s, end, out int wd) == CharClass.Number; k++) end += wd;
            return end;
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        int j = c == ' ' && i + 1 < s.Length ? i + 1 : i;
        if (CharClass.At(s, j, out int wj) == CharClass.Other)
        {
            int end = Run(s, j + wj, CharClass.Other);
            while (end < s.Length && s[end] is '\r' or '\n') end++;
            return end;
        }
        // '\s*[\r\n]+': up to the last CR or LF of the whitespace run
        int runEnd = i;
        int lastNewline = -1;
        while (runEnd < s.Length && CharClass.OfBmp(s[runEnd]) == CharClass.Space)
        {
            if (s[runEnd] is '\r' or '\n') lastNewline = runEnd;
            runEnd++;
        }
        if (lastNewline >= 0) return lastNewline + 1;
        return WhitespaceEnd(s, i);
    }

    /// <summary><c>\s+(?!\S)|\s+</c> at a whitespace character: the run, less its last character when a non-space follows.</summary>
    static int WhitespaceEnd(ReadOnlySpan<char> s, int i)
    {
        int end = i;
        while (end < s.Length && CharClass.OfBmp(s[end]) == CharClass.Space) end++;
        if (end == i) return i + 1;                      // unreachable for these patterns; never loop
        if (end < s.Length && end - i >= 2) return end - 1;
        return end;
    }

    /// <summary>The end of the run of code points of class <paramref name="cls"/> that continues at <paramref name="i"/>.</summary>
    static int Run(ReadOnlySpan<char> s, int i, byte cls)
    {
        while (i < s.Length)
        {
            char c = s[i];
            if (!char.IsSurrogate(c))
            {
                if (CharClass.OfBmp(c) != cls) break;
                i++;
            }
            else
            {
                if (CharClass.At(s, i, out int w) != cls) break;
                i += w;
            }
        }
        return i;
    }

    /// <summary>The length of <c>'s|'t|'re|'ve|'m|'ll|'d</c> at <paramref name="i"/>, or 0.</summary>
    static int Contraction(ReadOnlySpan<char> s, int i, bool ignoreCase)
    {
        if (i + 1 >= s.Length) return 0;
        char a = Fold(s[i + 1], ignoreCase);
        if (a is 's' or 't' or 'm' or 'd') return 2;
        if (i + 2 >= s.Length) return 0;
        char b = Fold(s[i + 2], ignoreCase);
        return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
    }

    /// <summary>Case folding for the contraction letters as Oniguruma does it (ſ U+017F folds to s).</summary>
    static char Fold(char c, bool ignoreCase)
    {
        if (!ignoreCase) return c;
        if (c is >= 'A' and <= 'Z') return (char)(c + 32);
        return c == '\u017F' ? 's' : c;
    }
}
