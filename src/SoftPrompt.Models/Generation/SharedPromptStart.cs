using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// The start every request of a task shares — its virtual tokens, its template's text before the user's, its
/// demonstrations — run once: the keys and values of those positions (after the plan's own prefix) become one
/// key/value prefix that each request's row attends to, so a request pays only for its own tokens. The text after it
/// keeps its positions (a prefix of length P numbers the text from P, as in <see cref="SharedLeadingTokens"/>), so a
/// request answers as it would with the whole prompt, up to float rounding. Tensors live on the heap: a start is kept
/// across requests (the server's prompt cache).
/// </summary>
public sealed class SharedPromptStart
{
    SharedPromptStart(int[] ids, KvPrefix prefix, IReadOnlyList<LowRankDelta> deltas, long bytes) => (Ids, Prefix, Deltas, Bytes) = (ids, prefix, deltas, bytes);

    /// <summary>The shared leading ids.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <summary>The plan's prefix followed by the leading positions' keys and values ([P + n, W] per layer).</summary>
    public KvPrefix Prefix { get; }

    /// <summary>The plan's low-rank deltas, which act on every later position too.</summary>
    public IReadOnlyList<LowRankDelta> Deltas { get; }

    /// <summary>Bytes its keys and values hold (what a cache of starts is bounded by).</summary>
    public long Bytes { get; }

    /// <summary>
    /// Runs the first <paramref name="length"/> of ids under row plan <paramref name="plan"/> (one row) and keeps their
    /// keys and values. The plan's virtual tokens and attention-input prefix must lie inside those positions.
    /// </summary>
    public static SharedPromptStart Compute(ICausalLanguageModel model, IReadOnlyList<int> ids, int length, RowPlan? plan,
        IReadOnlyDictionary<string, Tensor>? parameterDeltas = null)
    {
        if (length < 1 || length > ids.Count) throw new ArgumentOutOfRangeException(nameof(length), $"SharedPromptStart: {length} leading positions of a prompt of {ids.Count}.");
        if (plan is not null && !InsideStart(plan, length))
            throw new ArgumentException($"SharedPromptStart: the plan's virtual tokens or attention-input prefix reach past the {length} shared positions.");
        var leading = ids.Take(length).ToArray();
        var recorder = new KeyValueRecorder(model.Config.Layers);
        var promptPlan = plan is null && parameterDeltas is null ? null : new PromptPlan([plan]) { ParameterDeltas = parameterDeltas ?? PromptPlan.NoParameterDeltas };
        KvPrefix prefix;
        using (Tape.NoGrad())
        using (TensorScope.Begin())
        {
            model.ForwardHidden(leading, 1, length, new ForwardOptions { Plan = promptPlan, OutputPositions = [length - 1], KeyValueRecorder = recorder });
            var recorded = recorder.ToPrefix(plan?.Prefix);
            prefix = new KvPrefix([.. recorded.Keys.Select(k => k.HeapCopy())], [.. recorded.Values.Select(v => v.HeapCopy())]);
        }
        long bytes = 2L * prefix.Keys.Sum(k => (long)k.Span.Length) * sizeof(float);
        return new SharedPromptStart(leading, prefix, plan?.Deltas ?? [], bytes);
    }

    /// <summary>
    /// A request's ids and the plan its whole prompt would run under -> its ids after the shared start and the row plan
    /// that attends to the start instead; null when the request does not begin with the start's ids, when its plan puts
    /// virtual tokens or an attention-input prefix past them, or when nothing of its own would be left.
    /// </summary>
    public (int[] Ids, RowPlan Plan)? Continue(IReadOnlyList<int> ids, RowPlan? plan)
    {
        int n = Ids.Count;
        if (ids.Count <= n || (plan is not null && !InsideStart(plan, n))) return null;
        for (int i = 0; i < n; i++)
            if (ids[i] != Ids[i]) return null;
        return ([.. ids.Skip(n)], new RowPlan { Prefix = Prefix, Deltas = Deltas });
    }

    static bool InsideStart(RowPlan plan, int length) =>
        plan.SoftTokens.All(s => s.Position + s.Count <= length)
        && (plan.AttentionInputPrefix is not { } a || a.Position + a.Length <= length);
}
