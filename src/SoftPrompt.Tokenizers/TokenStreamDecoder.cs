namespace SoftPrompt.Tokenizers;

/// <summary>
/// Decodes ids as they arrive. Each <see cref="Push"/> returns only text that is final: an incomplete
/// UTF-8 sequence (byte-level or byte-fallback tokens) is held back until it completes, as is text a
/// later token could still change. The window of recent ids is re-decoded, as in Hugging Face's
/// DecodeStream, so start-of-text effects (Metaspace's leading space, Strip) apply once; the
/// concatenation of all pushes and <see cref="Flush"/> equals <see cref="Tokenizer.Decode"/> of all ids.
/// </summary>
public sealed class TokenStreamDecoder
{
    readonly Tokenizer _tokenizer;
    readonly bool _skipSpecialTokens;
    readonly List<int> _window = [];
    string _prefix = "";     // the decoded text of the window's first _prefixCount ids, already returned
    int _prefixCount;

    internal TokenStreamDecoder(Tokenizer tokenizer, bool skipSpecialTokens)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one id; returns the text it completes (often empty while a character is incomplete).</summary>
    public string Push(int id)
    {
        _window.Add(id);
        string text = _tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_window), _skipSpecialTokens);
        if (text.Length <= _prefix.Length || text.EndsWith('\uFFFD') || !text.StartsWith(_prefix, StringComparison.Ordinal)) return "";
        string fresh = text[_prefix.Length..];
        // Keep the ids since the previous emission as context for the next decode.
        _window.RemoveRange(0, _prefixCount);
        _prefixCount = _window.Count;
        _prefix = _tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_window), _skipSpecialTokens);
        return fresh;
    }

    /// <summary>Whatever is still held back (e.g. a byte sequence that never completed, as U+FFFD).</summary>
    public string Flush()
    {
        string text = _tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_window), _skipSpecialTokens);
        _window.Clear();
        _prefixCount = 0;
        string rest = text.StartsWith(_prefix, StringComparison.Ordinal) ? text[_prefix.Length..] : "";
        _prefix = "";
        return rest;
    }
}
