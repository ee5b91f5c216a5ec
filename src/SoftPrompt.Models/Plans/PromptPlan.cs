using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// Per batch row, what the prompt methods add to a forward pass of the frozen model (ARCHITECTURE.md):
/// virtual-token embeddings spliced at given positions, a key/value prefix per layer, and low-rank
/// deltas on named linear layers. Rows may carry different plans (or none); a row gives the same
/// result as that row alone with its plan. Methods build plans; the model only executes them.
/// </summary>
public sealed class PromptPlan
{
    readonly RowPlan?[] _rows;

    public PromptPlan(IReadOnlyList<RowPlan?> rows) => _rows = rows.ToArray();

    /// <summary>Every row of a batch of the given size carries the same plan.</summary>
    public static PromptPlan Uniform(int batch, RowPlan row) => new(Enumerable.Repeat<RowPlan?>(row, batch).ToArray());

    /// <summary>Rows the plan describes (the forward pass's batch size).</summary>
    public int Batch => _rows.Length;

    /// <summary>Row b's plan; null for a row that runs the plain model.</summary>
    public RowPlan? this[int b] => _rows[b];

    public IReadOnlyList<RowPlan?> Rows => _rows;

    /// <summary>True when dropout inside the plan (LoRA dropout) is active.</summary>
    public bool Training { get; init; }

    /// <summary>Random stream for dropout while training.</summary>
    public Rng? Rng { get; init; }

    public bool HasPrefix => _rows.Any(r => r?.Prefix is not null);

    /// <summary>Row b's soft-token positions moved by offsets[b].</summary>
    public PromptPlan Shifted(IReadOnlyList<int> offsets) => With(_rows.Select((r, b) => r?.Shifted(offsets[b])));

    /// <summary>The plan for the tokens after the prompt: no soft tokens (they were placed), the rest unchanged.</summary>
    public PromptPlan ForContinuation() => With(_rows.Select(r => r?.ForContinuation()));

    PromptPlan With(IEnumerable<RowPlan?> rows) => new(rows.ToArray()) { Training = Training, Rng = Rng };
}
