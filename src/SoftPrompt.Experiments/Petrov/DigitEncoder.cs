using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>The synthetic tasks' tokenizer: the characters '0'–'9' are the ids 0–9 (a 10-token vocabulary).</summary>
public sealed class DigitEncoder : ITextEncoder
{
    public int[] Encode(string text, bool addSpecialTokens = false) =>
        [.. text.Select(c => c is >= '0' and <= '9' ? c - '0' : throw new DataFormatException($"digit sequence: '{c}' is not a digit 0–9."))];

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false) => new([.. ids.ToArray().Select(i => (char)('0' + i))]);

    public static string Text(ReadOnlySpan<int> digits) => new([.. digits.ToArray().Select(i => (char)('0' + i))]);
}
