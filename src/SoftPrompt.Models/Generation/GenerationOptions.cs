namespace SoftPrompt.Models.Generation;

/// <summary>
/// Decoding settings, as Hugging Face's generate() names them: temperature 0 is greedy; top-k 0
/// and top-p 1 keep every token; generation ends after MaxNewTokens, at EosTokenId or StopTokenIds, or once the
/// generated text contains one of StopStrings (which needs Decode to turn ids into text). The
/// tokens that complete a stop string are kept in the output, as HF's StopStringCriteria does.
/// </summary>
public sealed record GenerationOptions(int MaxNewTokens = 32, float Temperature = 0f, int TopK = 0, float TopP = 1f,
    float RepetitionPenalty = 1f, ulong Seed = 0, int? EosTokenId = null, bool UseCache = true)
{
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Ids that end generation besides EosTokenId (a checkpoint may declare several).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Generated ids -> text, for stop strings (e.g. a tokenizer's Decode).</summary>
    public Func<IReadOnlyList<int>, string>? Decode { get; init; }

    internal void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), $"MaxNewTokens must be ≥ 0, got {MaxNewTokens}.");
        if (Temperature < 0f || float.IsNaN(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), $"Temperature must be ≥ 0, got {Temperature}.");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), $"TopK must be ≥ 0, got {TopK}.");
        if (!(TopP > 0f && TopP <= 1f)) throw new ArgumentOutOfRangeException(nameof(TopP), $"TopP must be in (0, 1], got {TopP}.");
        if (!(RepetitionPenalty > 0f)) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), $"RepetitionPenalty must be > 0, got {RepetitionPenalty}.");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("StopStrings: a stop string is empty.");
        if (StopStrings.Count > 0 && Decode is null) throw new ArgumentException("StopStrings need Decode (ids -> text), e.g. a tokenizer's Decode.");
    }

    /// <summary>True when the row's generated ids end the generation: the end-of-sequence id, or text that now holds a stop string.</summary>
    internal bool Stops(List<int> generated)
    {
        if (generated.Count > 0 && (generated[^1] == EosTokenId || StopTokenIds.Contains(generated[^1]))) return true;
        if (StopStrings.Count == 0) return false;
        string text = Decode!(generated);
        foreach (var s in StopStrings) if (text.Contains(s, StringComparison.Ordinal)) return true;
        return false;
    }
}
