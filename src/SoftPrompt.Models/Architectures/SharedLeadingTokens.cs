using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// A batch whose rows all begin with the same n tokens under the same plan — a template's fixed start,
/// Petrov et al.'s P pad or prefix positions — computes those positions once instead of once per row.
/// A first pass runs them as a single row and records every layer's keys and values (still in the
/// autograd graph); a second runs the rest of every row with them as a key/value prefix, after the plan's
/// own. The text keeps its positions (a prefix of length P numbers the text from P, as Hugging Face does
/// after a past of length P), so the outputs equal one pass over the whole batch up to float rounding and
/// gradients reach everything the shared positions depend on (LoRA deltas, prefixes, virtual tokens).
/// <para>It applies only where the rows cannot differ there and nothing is read there: no output wanted
/// at those positions, evaluation mode (no model dropout, except over positions an attention-input prefix
/// replaces at every layer; no LoRA dropout while training), no cache, no
/// padding mask, no attention observer, one key/value prefix and one set of deltas for every row, and the
/// same virtual tokens and attention-input prefix (the same tensors at the same positions) within them.
/// Otherwise it is the ordinary forward pass.</para>
/// </summary>
public static class SharedLeadingTokens
{
    static readonly RowPlan NoPlan = new();

    // ids: B·T -> logits at options.OutputPositions [N, V]; the head runs under the binding of the pass that made the hidden states
    public static Tensor Forward(ICausalLanguageModel model, ReadOnlySpan<int> ids, int batch, int seq, ForwardOptions options)
    {
        var (hidden, plan) = Hidden(model, ids, batch, seq, options);
        return model.Head(hidden, plan);
    }

    // ids: B·T -> final hidden at options.OutputPositions [N, D]
    public static Tensor ForwardHidden(ICausalLanguageModel model, ReadOnlySpan<int> ids, int batch, int seq, ForwardOptions options) =>
        Hidden(model, ids, batch, seq, options).Hidden;

    // ids: B·T -> (final hidden at options.OutputPositions [N, D], the last pass's plan as bound: its parameter deltas are the batch's)
    static (Tensor Hidden, PlanBinding Plan) Hidden(ICausalLanguageModel model, ReadOnlySpan<int> ids, int batch, int seq, ForwardOptions options)
    {
        int n = Length(ids, batch, seq, options);
        if (n == 0)
        {
            var whole = PlanBinding.Bind(model, options.Plan, batch, options.Cache);
            return (model.ForwardHidden(ids, batch, seq, whole, options), whole);
        }
        var plan = options.Plan;

        // Pass 1: the shared positions as one row (under the batch's parameter deltas too); only their keys and values are kept.
        var recorder = new KeyValueRecorder(model.Config.Layers);
        var leading = plan?.WithRows([Leading(plan[0] ?? NoPlan, n)]);
        model.ForwardHidden(ids[..n], 1, n, new ForwardOptions { Plan = leading, OutputPositions = [n - 1], KeyValueRecorder = recorder });

        // Pass 2: every row's remaining positions, attending to them as a prefix.
        var prefix = recorder.ToPrefix(plan?[0]?.Prefix);
        int rest = seq - n;
        var restIds = new int[batch * rest];
        var rows = new RowPlan?[batch];
        for (int b = 0; b < batch; b++)
        {
            ids.Slice(b * seq + n, rest).CopyTo(restIds.AsSpan(b * rest));
            rows[b] = Trailing(plan?[b] ?? NoPlan, n, prefix);
        }
        var trailing = options with
        {
            Plan = plan?.WithRows(rows) ?? new PromptPlan(rows),
            OutputPositions = OutputRows.InSuffix(options.OutputPositions, seq, n),
        };
        var bound = PlanBinding.Bind(model, trailing.Plan, batch, trailing.Cache);
        return (model.ForwardHidden(restIds, batch, rest, bound, trailing), bound);
    }

    /// <summary>How many leading positions the batch computes once (0: an ordinary forward pass).</summary>
    public static int Length(ReadOnlySpan<int> ids, int batch, int seq, ForwardOptions options)
    {
        if (batch < 2 || ids.Length != batch * seq || options.Cache is not null || options.AttentionMask is not null
            || options.AttentionObserver is not null || options.KeyValueRecorder is not null || options.OutputPositions is not { Length: > 0 } outputs)
            return 0;
        int n = seq;
        foreach (int p in outputs) n = Math.Min(n, p % seq);   // nothing is read at the shared positions
        if (options.DropoutRng is not null) n = Math.Min(n, ReplacedInEveryRow(options.Plan));   // training mode: only where dropout cannot reach
        for (int b = 1; b < batch && n > 0; b++)
        {
            int t = 0;
            while (t < n && ids[b * seq + t] == ids[t]) t++;
            n = t;
        }
        if (n > 0 && options.Plan is { } plan) n = AgreedLength(plan, n);
        return n;
    }

    /// <summary>
    /// The leading positions whose hidden state every row's attention-input prefix replaces at every layer's input
    /// (Petrov et al.'s prefix at position 0). Model dropout acts on hidden states, attention weights and residual
    /// branches, and every one of those at these positions is replaced before the next layer reads it: their keys and
    /// values come from the prefix alone. So a training-mode batch still computes them once (without dropout), while
    /// the rest of every row draws its own masks. 0 when some row has no such prefix.
    /// </summary>
    static int ReplacedInEveryRow(PromptPlan? plan)
    {
        if (plan is null || plan.Batch == 0) return 0;
        int n = int.MaxValue;
        for (int b = 0; b < plan.Batch; b++)
            n = Math.Min(n, plan[b]?.AttentionInputPrefix is { Position: 0 } p ? p.Length : 0);
        return n;
    }

    /// <summary>The longest start (at most n) over which every row's plan does the same thing.</summary>
    static int AgreedLength(PromptPlan plan, int n)
    {
        var first = plan[0] ?? NoPlan;
        for (int b = 0; b < plan.Batch; b++)
        {
            var row = plan[b] ?? NoPlan;
            if (!ReferenceEquals(row.Prefix, first.Prefix) || !row.Deltas.SequenceEqual(first.Deltas, ReferenceEqualityComparer.Instance)) return 0;
            if (plan.Training && row.Deltas.Any(d => d.Dropout > 0f)) return 0;   // each row draws its own dropout mask
        }
        for (int previous = -1; n != previous && n > 0;)
        {
            previous = n;
            for (int b = 1; b < plan.Batch; b++)
            {
                var row = plan[b] ?? NoPlan;
                n = Math.Min(n, Agreed(row, first, n));
                n = Math.Min(n, Agreed(first, row, n));
            }
        }
        return n;
    }

    /// <summary>n, or the position of the first thing of row's plan that starts before n and that other lacks or that crosses n.</summary>
    static int Agreed(RowPlan row, RowPlan other, int n)
    {
        foreach (var s in row.SoftTokens)
            if (s.Position < n && (s.Position + s.Count > n || !other.SoftTokens.Any(o => o.Position == s.Position && ReferenceEquals(o.Embeddings, s.Embeddings))))
                n = s.Position;
        if (row.AttentionInputPrefix is { } a && a.Position < n
            && (a.Position + a.Length > n || other.AttentionInputPrefix is not { } o || o.Position != a.Position || !ReferenceEquals(o.Layers, a.Layers)))
            n = a.Position;
        return n;
    }

    /// <summary>Row's plan for the shared positions 0…n-1: what starts there (nothing there crosses n).</summary>
    static RowPlan Leading(RowPlan row, int n) => row with
    {
        SoftTokens = [.. row.SoftTokens.Where(s => s.Position < n)],
        AttentionInputPrefix = row.AttentionInputPrefix is { } a && a.Position < n ? a : null,
    };

    /// <summary>Row's plan for positions n…T-1, numbered from 0, after the shared positions' keys and values.</summary>
    static RowPlan Trailing(RowPlan row, int n, KvPrefix prefix) => row with
    {
        SoftTokens = [.. row.SoftTokens.Where(s => s.Position >= n).Select(s => s with { Position = s.Position - n })],
        AttentionInputPrefix = row.AttentionInputPrefix is { } a && a.Position >= n ? a.At(a.Position - n) : null,
        Prefix = prefix,
    };
}
