namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary>
/// <c>ByteLevel</c>: optionally a leading space and GPT-2's split, then every piece as its UTF-8
/// bytes in GPT-2's byte alphabet. When it is the last pre-tokenizer before a BPE model, the mapping
/// is left to the model (<see cref="DeferBytes"/>), which goes from bytes to ids without the string.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    public bool AddPrefixSpace => addPrefixSpace;
    public bool UseRegex => useRegex;

    /// <summary>Set by the loader when the model takes raw text and maps it to byte-level ids itself.</summary>
    public bool DeferBytes { get; set; }

    public void PreTokenize(PreTokenizedString text)
    {
        if (addPrefixSpace || useRegex)
            text.Split(this, static (self, piece, output) =>
            {
                if (self.AddPrefixSpace && piece.Span[0] != ' ')
                    piece = new Piece(" " + piece.Span.ToString(), 0, piece.Length + 1, piece.AtOriginalStart);
                if (!self.UseRegex) { output.Add(piece); return; }
                var span = piece.Span;
                int pos = 0;
                while (pos < span.Length)
                {
                    int end = KnownPattern.Gpt2Scanner.NextEnd(span, pos);
                    output.Add(piece.Slice(pos, end - pos));
                    pos = end;
                }
            });
        if (DeferBytes) text.BytesPending = true;
        else text.Split(0, static (_, piece, output) => output.Add(Piece.Whole(ByteLevelAlphabet.Encode(piece.Span), piece.AtOriginalStart)));
    }

    public string Name => "ByteLevel";
}
