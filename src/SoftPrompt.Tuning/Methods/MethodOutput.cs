using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// What a method contributes to one forward pass, computed once (through its encoder, if any) and
/// shared by the rows that use it: virtual tokens [N, D], a key/value prefix, low-rank deltas (each row's,
/// <see cref="Row"/>); full fine-tuning's parameter deltas (the whole batch's, <see cref="Plan"/>).
/// </summary>
public sealed record MethodOutput(Tensor? VirtualTokens, KvPrefix? Prefix, IReadOnlyList<LowRankDelta> Deltas)
{
    public static readonly MethodOutput None = new(null, null, []);

    static readonly IReadOnlyDictionary<string, Tensor> NoParameterDeltas = new Dictionary<string, Tensor>();

    /// <summary>Petrov et al.'s prefix at the attention input of every layer; its P positions are the template's slot.</summary>
    public Models.Plans.AttentionInputPrefix? AttentionInputPrefix { get; init; }

    /// <summary>Full fine-tuning's deltas of the model's other parameters (embeddings, norms, biases, head), by Hugging Face name.</summary>
    public IReadOnlyDictionary<string, Tensor>? ParameterDeltas { get; init; }

    /// <summary>
    /// The plan of a batch whose row b's template put virtual tokens virtualStart..virtualStart+count-1 at positions
    /// position..position+count-1 (rows[b]: (Position, VirtualStart, Count) triples): each row's <see cref="Row"/>,
    /// and the parameter deltas once, for the batch.
    /// </summary>
    public PromptPlan Plan(IEnumerable<IEnumerable<(int Position, int VirtualStart, int Count)>> rows, bool training = false, Rng? rng = null) =>
        new([.. rows.Select(s => (RowPlan?)RowOf(s))]) { ParameterDeltas = ParameterDeltas ?? NoParameterDeltas, Training = training, Rng = rng };

    /// <summary>
    /// The row plan for a row whose template put virtual tokens virtualStart..virtualStart+count-1
    /// at positions position..position+count-1 (each slot a (Position, VirtualStart, Count) triple),
    /// e.g. to batch it with other adapters' rows. A method with parameter deltas has no row plan of its own:
    /// they act on every row of a batch, so its rows take <see cref="Plan"/>, batched apart.
    /// </summary>
    public RowPlan Row(IEnumerable<(int Position, int VirtualStart, int Count)> slots) => ParameterDeltas is { Count: > 0 }
        ? throw new ArgumentException("MethodOutput.Row: full fine-tuning's parameter deltas (embeddings, norms, biases, head) are one set for a whole batch, not a row's; build the batch's plan with Plan, and batch such rows apart from other adapters' rows.")
        : RowOf(slots);

    RowPlan RowOf(IEnumerable<(int Position, int VirtualStart, int Count)> slots)
    {
        var soft = new List<SoftTokens>();
        if (AttentionInputPrefix is { } hidden)
        {
            var list = slots.ToList();
            if (list.Count != 1 || list[0].VirtualStart != 0 || list[0].Count != hidden.Length)
                throw new ArgumentException($"The attention-input prefix needs one slot of {hidden.Length} positions ({{soft:{hidden.Length}}} in the template); the template gives {list.Sum(s => s.Count)} in {list.Count} slots.");
            return new RowPlan { AttentionInputPrefix = hidden.At(list[0].Position), Prefix = Prefix, Deltas = Deltas };
        }
        foreach (var (position, start, count) in slots)
        {
            if (count == 0) continue;
            if (VirtualTokens is null) throw new InvalidOperationException("The template places virtual tokens but the method produces none (prefix, deep prompt, LoRA and full fine-tuning use no input slots).");
            int n = VirtualTokens.Shape[0];
            if (start < 0 || start + count > n)
                throw new ArgumentException($"The template asks for virtual tokens {start}..{start + count - 1}; the method has {n}.");
            soft.Add(new SoftTokens(position, count == n ? VirtualTokens : F.Slice(VirtualTokens, 0, start, count)));
        }
        return new RowPlan { SoftTokens = soft, Prefix = Prefix, Deltas = Deltas };
    }
}
