using System.Text;

namespace SoftPrompt.Tuning.Data;

/// <summary>
/// A prompt template (docs/training.md, "Templates"): literal text with <c>{field}</c>, <c>{soft}</c> /
/// <c>{soft:N}</c> (virtual tokens, numbered consecutively across the template), <c>{answer}</c>
/// (last: a causal LM predicts it from everything before) and the escapes <c>{{</c> and <c>}}</c>.
/// Parse checks all of that up front so that a bad template fails before any data is read.
/// </summary>
public sealed partial class Template
{
    /// <summary>The template as written.</summary>
    public string Source { get; }

    public IReadOnlyList<TemplatePart> Parts { get; }

    /// <summary>Virtual tokens over all soft slots: the length of the prompt a method must learn.</summary>
    public int SoftTokenCount { get; }

    /// <summary>The fields the template reads, in order of first use.</summary>
    public IReadOnlyList<string> Fields { get; }

    /// <summary>
    /// " " when the answer directly follows text or a field that the template does not end with a space
    /// ("It was{answer}" → " great"), "" otherwise ("It was {answer}", "{soft:3}{answer}"). It keeps the
    /// answer a word of its own for BPE tokenizers that fold the space into the word.
    /// </summary>
    public string ImpliedAnswerPrefix { get; }

    Template(string source, List<TemplatePart> parts)
    {
        Source = source;
        Parts = parts;
        SoftTokenCount = parts.OfType<SoftPart>().Sum(s => s.Count);
        Fields = parts.OfType<FieldPart>().Select(f => f.Name).Distinct().ToArray();
        ImpliedAnswerPrefix = parts.Count < 2 ? "" : parts[^2] switch
        {
            TextPart t => t.Text.Length > 0 && !char.IsWhiteSpace(t.Text[^1]) ? " " : "",
            FieldPart => " ",
            _ => "",
        };
    }

    /// <summary>PEFT-style prompt tuning: n virtual tokens, then the text field, then the answer.</summary>
    public static Template PromptTuning(int virtualTokens, string textField = "text") =>
        Parse($"{{soft:{virtualTokens}}}{{{textField}}}{{answer}}");

    public static Template Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var parts = new List<TemplatePart>();
        var text = new StringBuilder();
        int textColumn = 1, virtualNext = 0;

        void FlushText()
        {
            if (text.Length > 0) parts.Add(new TextPart(text.ToString(), textColumn));
            text.Clear();
        }

        for (int i = 0; i < template.Length;)
        {
            char c = template[i];
            if (c == '{' && i + 1 < template.Length && template[i + 1] == '{') { Append('{', i); i += 2; continue; }
            if (c == '}')
            {
                if (i + 1 < template.Length && template[i + 1] == '}') { Append('}', i); i += 2; continue; }
                throw Error(template, i, "a lone '}' (write '}}' for a literal brace)");
            }
            if (c != '{') { Append(c, i); i++; continue; }

            int close = template.IndexOf('}', i + 1);
            int nextOpen = template.IndexOf('{', i + 1);
            if (close < 0 || (nextOpen >= 0 && nextOpen < close))
                throw Error(template, i, "a '{' that is not closed (write '{{' for a literal brace)");
            string body = template[(i + 1)..close];
            FlushText();
            parts.Add(Construct(template, i, body, ref virtualNext));
            i = close + 1;
            textColumn = i + 1;
        }
        FlushText();

        int answers = parts.Count(p => p is AnswerPart);
        if (answers == 0)
            throw new TemplateException($"template \"{template}\": no {{answer}}; a causal LM template ends with the answer slot, e.g. \"{template}{{answer}}\".");
        if (answers > 1)
            throw Error(template, parts.OfType<AnswerPart>().Skip(1).First().Column - 1, "a second {answer}; a template has one answer slot");
        if (parts[^1] is not AnswerPart)
        {
            var answer = parts.OfType<AnswerPart>().Single();
            throw Error(template, answer.Column - 1, "{answer} is not last; a causal LM predicts the answer from everything before it, so nothing may follow it (move trailing text before {answer})");
        }
        return new Template(template, parts);

        void Append(char ch, int at)
        {
            if (text.Length == 0) textColumn = at + 1;
            text.Append(ch);
        }
    }

    static TemplatePart Construct(string template, int at, string body, ref int virtualNext)
    {
        int column = at + 1;
        if (body == "answer") return new AnswerPart(column);
        if (body == "soft" || body.StartsWith("soft:", StringComparison.Ordinal))
        {
            int count = 1;
            if (body.Length > 4 && (!int.TryParse(body.AsSpan(5), System.Globalization.NumberStyles.None, null, out count) || count < 1))
                throw Error(template, at, $"'{{{body}}}': the count of {{soft:N}} must be a positive integer");
            var soft = new SoftPart(count, virtualNext, column);
            virtualNext += count;
            return soft;
        }
        if (body.StartsWith("answer:", StringComparison.Ordinal))
            throw Error(template, at, $"'{{{body}}}': the answer slot takes no argument; choose the answer field in RenderOptions.AnswerField");
        if (body.Length == 0 || !body.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.'))
            throw Error(template, at, $"unknown construct '{{{body}}}' (expected {{field}}, {{soft}}, {{soft:N}} or {{answer}}; field names use letters, digits, '_', '-', '.')");
        return new FieldPart(body, column);
    }

    static TemplateException Error(string template, int at, string what) =>
        new($"template \"{template}\", column {at + 1}: {what}.");

    public override string ToString() => Source;
}
