using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// The batch's parameter deltas (<see cref="PromptPlan.ParameterDeltas"/>: full fine-tuning's embeddings, norms,
/// biases and head) as the blocks and the head read them. The plan holds one set for the whole batch, so there is
/// nothing to reconcile between rows: the set is only checked against the model's other parameters.
/// </summary>
public sealed partial class PlanBinding
{
    IReadOnlyDictionary<string, Tensor>? _parameterDeltas;   // null when the plan has none

    /// <summary>The plan's parameter deltas checked against the model's other parameters (names and shapes); null when it has none.</summary>
    static IReadOnlyDictionary<string, Tensor>? CheckedParameterDeltas(ICausalLanguageModel model, PromptPlan plan)
    {
        if (plan.ParameterDeltas.Count == 0) return null;
        var known = model.OtherParameters.ToDictionary(p => p.Name);
        foreach (var (name, delta) in plan.ParameterDeltas)
        {
            if (!known.TryGetValue(name, out var info))
                throw new ArgumentException($"PromptPlan: a parameter delta names '{name}', which is not a parameter of this {model.Config.ModelType} model besides its linear weights (e.g. '{model.OtherParameters[0].Name}').");
            if (!delta.Shape.ToArray().SequenceEqual(info.Shape))
                throw new ShapeMismatchException($"PromptPlan: the delta of '{name}' is {Tensor.Format(delta.Shape)}; the parameter is {Tensor.Format(info.Shape.ToArray())}.");
        }
        return plan.ParameterDeltas;
    }

    /// <summary>The named parameter's delta in this pass, or null.</summary>
    public Tensor? ParameterDelta(string name) => _parameterDeltas is { } d && d.TryGetValue(name, out var t) ? t : null;

    /// <summary>A frozen parameter plus this pass's delta of it (the parameter itself without one).</summary>
    public Tensor Parameter(string name, Tensor frozen) => ParameterDelta(name) is { } d ? F.Add(frozen, d) : frozen;

    /// <summary>ids: B·T -> [B, T, D] rows of the frozen table plus the rows of its delta, when the pass has one.</summary>
    public Tensor Embedding(string name, FrozenWeight table, ReadOnlySpan<int> ids, int batch, int seq)
    {
        var rows = F.Embedding(table, ids, batch, seq);
        return ParameterDelta(name) is { } d ? F.Add(rows, F.Embedding(d, ids, batch, seq)) : rows;
    }

    /// <summary>
    /// hidden: [.., D] -> logits [.., V] through a frozen head [V, D], with this pass's delta of <paramref name="deltaName"/>
    /// (the head's own name, or the embedding table a tied head is) folded in — one GEMM, as fine-tuning the head itself.
    /// </summary>
    public Tensor Head(Tensor hidden, FrozenWeight head, string deltaName) =>
        ParameterDelta(deltaName) is { } delta ? F.Linear(hidden, F.Add(head, delta)) : F.Linear(hidden, head);
}
