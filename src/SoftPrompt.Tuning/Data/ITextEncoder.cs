namespace SoftPrompt.Tuning.Data;

/// <summary>
/// What the data pipeline needs of a tokenizer: text to ids and back. The model's tokenizer gets a
/// one-line adapter; tests use tiny character- or word-level encoders. Encode must not add special
/// tokens unless asked: templates encode several pieces and place BOS/EOS themselves.
/// </summary>
public interface ITextEncoder
{
    int[] Encode(string text, bool addSpecialTokens = false);
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false);
}
