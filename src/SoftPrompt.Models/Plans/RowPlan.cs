namespace SoftPrompt.Models.Plans;

/// <summary>
/// What one batch row carries into the frozen model, on top of what its <see cref="PromptPlan"/> gives every row:
/// virtual tokens spliced at given positions (<see cref="SoftTokens"/>), a key/value prefix per layer
/// (<see cref="Prefix"/>), low-rank or dense deltas on named linear layers (<see cref="Deltas"/>), and Petrov et
/// al.'s prefix at every layer's attention input (<see cref="AttentionInputPrefix"/>). Rows of one batch may differ
/// in all four. What one batch runs as one set (full fine-tuning's parameter deltas) is the PromptPlan's, not a row's.
/// </summary>
public sealed record RowPlan
{
    public IReadOnlyList<SoftTokens> SoftTokens { get; init; } = [];
    public KvPrefix? Prefix { get; init; }
    public IReadOnlyList<LowRankDelta> Deltas { get; init; } = [];

    /// <summary>Petrov et al.'s prefix at the row's first positions of every layer's attention input.</summary>
    public AttentionInputPrefix? AttentionInputPrefix { get; init; }

    public bool IsEmpty => SoftTokens.Count == 0 && Prefix is null && Deltas.Count == 0 && AttentionInputPrefix is null;

    /// <summary>The same row with its soft tokens moved by offset positions (e.g. after left padding).</summary>
    public RowPlan Shifted(int offset) => offset == 0 ? this : this with
    {
        SoftTokens = SoftTokens.Select(s => s with { Position = s.Position + offset }).ToArray(),
        AttentionInputPrefix = AttentionInputPrefix?.At(AttentionInputPrefix.Position + offset),
    };

    /// <summary>The plan for tokens that continue a cached sequence: the soft tokens and the attention-input prefix were placed by the prompt pass.</summary>
    public RowPlan ForContinuation() => SoftTokens.Count == 0 && AttentionInputPrefix is null ? this : this with { SoftTokens = [], AttentionInputPrefix = null };
}
