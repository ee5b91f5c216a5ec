namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary>When Metaspace puts a replacement character in front of a piece.</summary>
internal enum PrependScheme { Always, First, Never }

/// <summary>
/// <c>Metaspace</c> (sentencepiece style): spaces become the replacement character (▁), one is put in
/// front per the prepend scheme, and with <c>split</c> the text is cut before each ▁.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : IPreTokenizer
{
    public void PreTokenize(PreTokenizedString text) =>
        text.Split(this, static (self, piece, output) =>
        {
            string s = piece.Span.ToString().Replace(' ', self._replacement);
            if (self._scheme == PrependScheme.Always && s[0] != self._replacement
                || self._scheme == PrependScheme.First && s[0] != self._replacement && piece.AtOriginalStart)
                s = self._replacement + s;
            var whole = Piece.Whole(s, piece.AtOriginalStart);
            if (!self._split) { output.Add(whole); return; }
            int start = 0;
            for (int i = 1; i < s.Length; i++)
                if (s[i] == self._replacement)
                {
                    output.Add(whole.Slice(start, i - start));
                    start = i;
                }
            output.Add(whole.Slice(start, s.Length - start));
        });

    readonly char _replacement = replacement;
    readonly PrependScheme _scheme = scheme;
    readonly bool _split = split;

    public string Name => "Metaspace";

    public static PrependScheme ParseScheme(TokenizerJson json)
    {
        if (json.TryGet("prepend_scheme", out var v))
            return v.String() switch
            {
                "always" => PrependScheme.Always,
                "first" => PrependScheme.First,
                "never" => PrependScheme.Never,
                var other => throw v.Error($"unknown prepend_scheme '{other}' (supported: always, first, never)"),
            };
        return json.OptBool("add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never;
    }

    public static char ParseReplacement(TokenizerJson json)
    {
        var r = json.Get("replacement");
        string s = r.String();
        return s.Length == 1 ? s[0] : throw r.Error("expected a single character");
    }
}
