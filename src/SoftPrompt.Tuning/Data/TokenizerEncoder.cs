using SoftPrompt.Tokenizers;

namespace SoftPrompt.Tuning.Data;

/// <summary>A model's tokenizer as the data pipeline's <see cref="ITextEncoder"/>.</summary>
public sealed class TokenizerEncoder(Tokenizer tokenizer) : ITextEncoder
{
    public Tokenizer Tokenizer { get; } = tokenizer;

    public int[] Encode(string text, bool addSpecialTokens = false) => Tokenizer.Encode(text, addSpecialTokens);

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => Tokenizer.Decode(ids, skipSpecialTokens);
}
