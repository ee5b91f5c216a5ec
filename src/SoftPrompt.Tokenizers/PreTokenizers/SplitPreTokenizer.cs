namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary><c>Split</c>: cuts on a string or regex pattern, keeping or dropping the matches per the behavior.</summary>
internal sealed class SplitPreTokenizer(ISplitPattern pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public ISplitPattern Pattern => pattern;
    public SplitBehavior Behavior => behavior;
    public bool Invert => invert;

    public void PreTokenize(PreTokenizedString text) =>
        text.Split(text, (t, piece, output) =>
        {
            t.Matches.Clear();
            pattern.FindMatches(piece.Span, t.Matches);
            Splitter.Apply(piece, t.Matches, behavior, invert, output);
        });

    public string Name => pattern is KnownPattern k ? $"Split({k.Which} pattern)" : "Split";

    public static SplitPreTokenizer FromJson(TokenizerJson json) =>
        new(ParsePattern(json.Get("pattern")), Splitter.Parse(json.Get("behavior")), json.OptBool("invert", false));

    /// <summary><c>{"String": "..."}</c> or <c>{"Regex": "..."}</c>; the known GPT-2 / Llama 3 / Qwen regexes get their scanners.</summary>
    public static ISplitPattern ParsePattern(TokenizerJson pattern)
    {
        if (pattern.TryGet("String", out var s)) return new LiteralPattern(s.String());
        if (pattern.TryGet("Regex", out var r))
        {
            string regex = r.String();
            return (ISplitPattern?)KnownPattern.TryRecognise(regex) ?? new RegexPattern(regex, r);
        }
        throw pattern.Error("expected {\"String\": ...} or {\"Regex\": ...}");
    }
}
