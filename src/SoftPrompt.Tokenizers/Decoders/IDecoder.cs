using System.Text;

namespace SoftPrompt.Tokenizers.Decoders;

/// <summary>Turns token strings back into text pieces; a chain of them ends with the pieces joined (Hugging Face's <c>decode_chain</c>).</summary>
internal interface IDecoder
{
    List<string> DecodeChain(List<string> tokens);
}

/// <summary><c>Sequence</c>: each decoder on the output of the previous one.</summary>
internal sealed class SequenceDecoder(IDecoder[] steps) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        foreach (var s in steps) tokens = s.DecodeChain(tokens);
        return tokens;
    }
}

/// <summary><c>ByteLevel</c>: characters back to bytes, the bytes read as UTF-8 (invalid sequences become U+FFFD).</summary>
internal sealed class ByteLevelDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (string t in tokens)
        {
            bool all = true;
            foreach (char c in t) if (ByteLevelAlphabet.ByteOf(c) < 0) { all = false; break; }
            if (all) foreach (char c in t) bytes.Add((byte)ByteLevelAlphabet.ByteOf(c));
            else bytes.AddRange(Encoding.UTF8.GetBytes(t));   // not a byte-level token: its own UTF-8
        }
        return [Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}

/// <summary><c>ByteFallback</c>: runs of <c>&lt;0xNN&gt;</c> tokens become the text their bytes spell, or one U+FFFD per byte if invalid.</summary>
internal sealed class ByteFallbackDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (string t in tokens)
        {
            if (TryByte(t, out byte b)) { pending.Add(b); continue; }
            Flush(pending, result);
            result.Add(t);
        }
        Flush(pending, result);
        return result;
    }

    static void Flush(List<byte> pending, List<string> result)
    {
        if (pending.Count == 0) return;
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        try { result.Add(strict.GetString([.. pending])); }
        catch (DecoderFallbackException) { for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD"); }
        pending.Clear();
    }

    public static bool TryByte(string t, out byte value)
    {
        value = 0;
        return t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
            && byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }
}

/// <summary><c>Fuse</c>: all pieces into one.</summary>
internal sealed class FuseDecoder : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

/// <summary><c>Strip</c>: up to <c>start</c> leading and <c>stop</c> trailing copies of a character off each piece.</summary>
internal sealed class StripDecoder(char content, int start, int stop) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(t =>
    {
        int a = 0, b = t.Length;
        while (a < Math.Min(start, t.Length) && t[a] == content) a++;
        for (int i = 0; i < stop && b > a && t[b - 1] == content; i++) b--;
        return t[a..b];
    }).ToList();
}

/// <summary><c>Replace</c>: a string (or regex) by the content, in each piece.</summary>
internal sealed class ReplaceDecoder(Normalizers.ReplaceNormalizer replace) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) => tokens.Select(replace.Normalize).ToList();
}

/// <summary><c>Metaspace</c>: ▁ back to spaces; the first piece loses its ▁ unless the prepend scheme is "never".</summary>
internal sealed class MetaspaceDecoder(char replacement, bool stripFirst) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            var sb = new StringBuilder(tokens[i].Length);
            foreach (char c in tokens[i])
                if (c != replacement) sb.Append(c);
                else if (!(i == 0 && stripFirst)) sb.Append(' ');
            result.Add(sb.ToString());
        }
        return result;
    }
}

/// <summary><c>WordPiece</c>: <c>##</c> pieces glue to the previous one, others get a space; optional clean-up of spaces before punctuation.</summary>
internal sealed class WordPieceDecoder(string prefix, bool cleanup) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            string t = tokens[i];
            if (i != 0) t = t.StartsWith(prefix, StringComparison.Ordinal) ? t[prefix.Length..] : " " + t;
            result.Add(cleanup ? Cleanup(t) : t);
        }
        return result;
    }

    /// <summary>Hugging Face's <c>cleanup</c>: spaces before punctuation and English contractions removed.</summary>
    public static string Cleanup(string s) => s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",")
        .Replace(" ' ", "'").Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" do not", " don't")
        .Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}

/// <summary><c>BPEDecoder</c>: the end-of-word suffix becomes a space (nothing after the last piece).</summary>
internal sealed class BpeSuffixDecoder(string suffix) : IDecoder
{
    public List<string> DecodeChain(List<string> tokens) =>
        tokens.Select((t, i) => t.Replace(suffix, i == tokens.Count - 1 ? "" : " ")).ToList();
}
