using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// What the prompt methods add to one forward pass of the frozen model (ARCHITECTURE.md). Per row, a
/// <see cref="RowPlan"/> (virtual tokens, a key/value prefix, linear-layer deltas, an attention-input prefix):
/// rows may carry different ones (or none), and a row gives the same result as that row alone with its plan.
/// Per batch, what one pass runs as one set for every row: the deltas of the model's other parameters
/// (<see cref="ParameterDeltas"/>), and whether dropout inside the plan acts (<see cref="Training"/>, <see cref="Rng"/>).
/// Methods build plans; <see cref="PlanBinding.Bind"/> checks one against a model, and the model only executes the binding.
/// </summary>
public sealed class PromptPlan
{
    readonly RowPlan?[] _rows;

    public PromptPlan(IReadOnlyList<RowPlan?> rows) => _rows = rows.ToArray();

    /// <summary>Every row of a batch of the given size carries the same plan.</summary>
    public static PromptPlan Uniform(int batch, RowPlan row) => new(Enumerable.Repeat<RowPlan?>(row, batch).ToArray());

    /// <summary>Rows the plan describes (the forward pass's batch size).</summary>
    public int Batch => _rows.Length;

    /// <summary>Row b's plan; null for a row that runs the plain model (and the batch's parameter deltas).</summary>
    public RowPlan? this[int b] => _rows[b];

    public IReadOnlyList<RowPlan?> Rows => _rows;

    /// <summary>
    /// Per batch: additions to the model's other parameters (<see cref="Architectures.ICausalLanguageModel.OtherParameters"/>:
    /// embeddings, norms, biases, an untied head) by Hugging Face name — what full fine-tuning trains besides the linear
    /// weights. One set for the whole batch, since every row runs through the same embeddings, norms and head; rows
    /// with different sets go in different batches.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> ParameterDeltas { get; init; } = NoParameterDeltas;

    /// <summary>The empty set of parameter deltas (most plans).</summary>
    public static readonly IReadOnlyDictionary<string, Tensor> NoParameterDeltas = new Dictionary<string, Tensor>();

    /// <summary>Per batch: true when dropout inside the plan (LoRA dropout) is active.</summary>
    public bool Training { get; init; }

    /// <summary>Per batch: random stream for dropout while training.</summary>
    public Rng? Rng { get; init; }

    public bool HasPrefix => _rows.Any(r => r?.Prefix is not null);

    /// <summary>Row b's soft-token positions moved by offsets[b].</summary>
    public PromptPlan Shifted(IReadOnlyList<int> offsets) => WithRows(_rows.Select((r, b) => r?.Shifted(offsets[b])));

    /// <summary>The plan for the tokens after the prompt: no soft tokens (they were placed), the rest unchanged.</summary>
    public PromptPlan ForContinuation() => WithRows(_rows.Select(r => r?.ForContinuation()));

    /// <summary>Other rows under this plan's per-batch parts (parameter deltas, training, dropout stream).</summary>
    public PromptPlan WithRows(IEnumerable<RowPlan?> rows) => new(rows.ToArray()) { ParameterDeltas = ParameterDeltas, Training = Training, Rng = Rng };
}
