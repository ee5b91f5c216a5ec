using System.Text;

namespace SoftPrompt.Tuning.Data;

public sealed partial class Template
{
    /// <summary>
    /// The example as ids: [BOS] prompt answer [EOS]. The answer comes from options.AnswerField (through
    /// the verbalizer when one is given). Text between soft slots is encoded as one piece — literal text and
    /// field values together, exactly as written (the template decides every space) — so soft slots split
    /// the text into pieces that are encoded separately; the answer is encoded on its own after
    /// options.AnswerPrefix (default <see cref="ImpliedAnswerPrefix"/>).
    /// </summary>
    public EncodedExample Render(Example example, ITextEncoder encoder, RenderOptions? options = null)
    {
        options ??= new RenderOptions();
        foreach (var f in Fields) example.Field(f);   // the prompt's fields are reported before the answer's
        string value = example.Field(options.AnswerField);
        string answer = options.Verbalizer is { } v ? v.WordsFor(value, example)[0] : value;
        var answerIds = encoder.Encode((options.AnswerPrefix ?? ImpliedAnswerPrefix) + answer);
        if (options.EosId is int eos) answerIds = [.. answerIds, eos];
        return RenderCore(example, encoder, options, answerIds, 0);
    }

    /// <summary>
    /// The prompt alone (AnswerIds empty) for generation or label scoring. reserve: answer tokens that
    /// will follow, counted against MaxLength when truncating (e.g. the longest verbalizer word).
    /// </summary>
    public EncodedExample RenderPrompt(Example example, ITextEncoder encoder, RenderOptions? options = null, int reserve = 0) =>
        RenderCore(example, encoder, options ?? new RenderOptions(), [], reserve);

    EncodedExample RenderCore(Example example, ITextEncoder encoder, RenderOptions options, int[] answerIds, int reserve)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Fields) values[f] = example.Field(f);

        var (ids, slots) = EncodePrompt(values, encoder, options);
        int total = ids.Count + answerIds.Length + reserve;
        if (options.MaxLength is int max && total > max)
            (ids, slots) = Truncate(example, encoder, options, values, max - answerIds.Length - reserve, ids.Count);

        int answerStart = ids.Count;
        ids.AddRange(answerIds);
        return new EncodedExample(ids.ToArray(), slots, answerStart, answerIds);
    }

    (List<int> Ids, List<SoftSlot> Slots) EncodePrompt(Dictionary<string, string> values, ITextEncoder encoder, RenderOptions options)
    {
        var ids = new List<int>();
        var slots = new List<SoftSlot>();
        if (options.BosId is int bos) ids.Add(bos);
        var piece = new StringBuilder();
        void Flush()
        {
            if (piece.Length > 0) ids.AddRange(encoder.Encode(piece.ToString()));
            piece.Clear();
        }
        foreach (var part in Parts)
        {
            switch (part)
            {
                case TextPart t: piece.Append(t.Text); break;
                case FieldPart f: piece.Append(values[f.Name]); break;
                case SoftPart s:
                    Flush();
                    slots.Add(new SoftSlot(ids.Count, s.VirtualStart, s.Count));
                    for (int k = 0; k < s.Count; k++) ids.Add(EncodedExample.SoftPlaceholderId);
                    break;
                case AnswerPart: Flush(); break;
            }
        }
        return (ids, slots);
    }

    /// <summary>
    /// Shortens field values until the prompt fits promptBudget ids: tokens are taken one at a time
    /// from the field with the most tokens (encoded alone), from its right or left end, and the field's
    /// text becomes the decoded remainder. Because a field is encoded together with its neighbouring
    /// text, the merged count can differ by a token from the sum; the loop re-encodes until it fits.
    /// </summary>
    (List<int> Ids, List<SoftSlot> Slots) Truncate(Example example, ITextEncoder encoder, RenderOptions options,
        Dictionary<string, string> values, int promptBudget, int promptLength)
    {
        var fieldIds = Fields.ToDictionary(f => f, f => encoder.Encode(values[f]), StringComparer.Ordinal);
        var keep = Fields.ToDictionary(f => f, f => fieldIds[f].Length, StringComparer.Ordinal);
        int excess = promptLength - promptBudget;
        while (true)
        {
            for (; excess > 0; excess--)
            {
                string? longest = null;
                foreach (var f in Fields) if (keep[f] > 0 && (longest is null || keep[f] > keep[longest])) longest = f;
                if (longest is null)
                    throw DataFormatException.At(example.Source, example.Line,
                        $"the example does not fit MaxLength {options.MaxLength} even with its fields ({string.Join(", ", Fields)}) emptied: " +
                        $"template \"{Source}\" alone, its {SoftTokenCount} soft tokens and the answer need more.");
                keep[longest]--;
            }
            foreach (var f in Fields)
            {
                var all = fieldIds[f];
                var kept = options.Truncation == TruncationSide.Right ? all.AsSpan(0, keep[f]) : all.AsSpan(all.Length - keep[f]);
                values[f] = kept.Length == all.Length ? values[f] : encoder.Decode(kept);
            }
            var (ids, slots) = EncodePrompt(values, encoder, options);
            if (ids.Count <= promptBudget) return (ids, slots);
            excess = ids.Count - promptBudget;
        }
    }
}
