using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>What one batch row carries into the frozen model: virtual tokens, a key/value prefix, low-rank deltas.</summary>
public sealed record RowPlan
{
    public IReadOnlyList<SoftTokens> SoftTokens { get; init; } = [];
    public KvPrefix? Prefix { get; init; }
    public IReadOnlyList<LowRankDelta> Deltas { get; init; } = [];

    /// <summary>
    /// Additions to the model's other parameters (<see cref="Architectures.ICausalLanguageModel.OtherParameters"/>) by
    /// Hugging Face name: what full fine-tuning trains besides the linear weights. Every row of a batch carries the same.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> ParameterDeltas { get; init; } = EmptyDeltas;

    static readonly IReadOnlyDictionary<string, Tensor> EmptyDeltas = new Dictionary<string, Tensor>();

    /// <summary>Petrov et al.'s prefix at the row's first positions of every layer's attention input.</summary>
    public AttentionInputPrefix? AttentionInputPrefix { get; init; }

    public bool IsEmpty => SoftTokens.Count == 0 && Prefix is null && Deltas.Count == 0 && AttentionInputPrefix is null && ParameterDeltas.Count == 0;

    /// <summary>The same row with its soft tokens moved by offset positions (e.g. after left padding).</summary>
    public RowPlan Shifted(int offset) => offset == 0 ? this : this with
    {
        SoftTokens = SoftTokens.Select(s => s with { Position = s.Position + offset }).ToArray(),
        AttentionInputPrefix = AttentionInputPrefix?.At(AttentionInputPrefix.Position + offset),
    };

    /// <summary>The plan for tokens that continue a cached sequence: the soft tokens and the attention-input prefix were placed by the prompt pass.</summary>
    public RowPlan ForContinuation() => SoftTokens.Count == 0 && AttentionInputPrefix is null ? this : this with { SoftTokens = [], AttentionInputPrefix = null };
}
