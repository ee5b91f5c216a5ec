using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Continuous batching: sequences of different lengths, plans and sampling settings decode together, one forward
/// pass a step over every sequence's last token. A sequence starts alone (<see cref="Start"/>: its prompt's pass under
/// its whole plan, which puts its prefix in its own cache and chooses its first token) and joins the batch at the next
/// <see cref="Step"/>; it leaves when it ends or is <see cref="Remove"/>d. Whenever the rows change, the batch's cache is
/// regrouped (<see cref="KvCache.Gather"/>: each row's keys and values right-aligned, its padding masked), so a row's
/// positions, prefix and deltas are exactly those it has alone and its tokens are those <see cref="Generator.Generate"/>
/// gives it, up to float rounding. Rows share the batch's parameter deltas (one set a batch, as in a forward pass);
/// sequences under other parameter deltas go in another DecodeBatch. Not thread-safe: one thread runs a batch.
/// </summary>
public sealed class DecodeBatch(ICausalLanguageModel model, IReadOnlyDictionary<string, Tensor>? parameterDeltas = null)
{
    readonly List<DecodeSequence> _rows = [];
    KvCache? _cache;
    bool _regroup;

    /// <summary>The batch's parameter deltas (empty for most plans).</summary>
    public IReadOnlyDictionary<string, Tensor> ParameterDeltas { get; } = parameterDeltas ?? PromptPlan.NoParameterDeltas;

    /// <summary>Sequences that the next <see cref="Step"/> decodes.</summary>
    public IReadOnlyList<DecodeSequence> Sequences => _rows;

    public int Count => _rows.Count;

    /// <summary>
    /// Runs the prompt alone under its row plan (virtual tokens, prefix, deltas) and chooses the first new token. The
    /// sequence joins the batch unless that token already ends it (or MaxNewTokens is 0).
    /// </summary>
    public DecodeSequence Start(IReadOnlyList<int> prompt, GenerationOptions options, RowPlan? plan = null)
    {
        if (prompt.Count == 0) throw new ArgumentException("DecodeBatch.Start: the prompt has no tokens.");
        options.Validate();
        var sequence = new DecodeSequence(prompt, options, plan is null ? null : Continuation(plan), (plan?.Prefix?.Length ?? 0) + prompt.Count);
        if (options.MaxNewTokens == 0) { sequence.IsDone = true; return sequence; }
        var cache = new KvCache(model.Config.Layers);
        var ids = prompt.ToArray();
        var promptPlan = plan is null && ParameterDeltas.Count == 0 ? null : new PromptPlan([plan]) { ParameterDeltas = ParameterDeltas };
        using (Tape.NoGrad())
        using (TensorScope.Begin())
        {
            var logits = model.Forward(ids, 1, ids.Length, new ForwardOptions { Cache = cache, Plan = promptPlan, OutputPositions = [ids.Length - 1] });   // [1, V]
            sequence.Choose(logits.Span);
        }
        sequence.Place(cache, 0, ids.Length);
        if (!sequence.IsDone) { _rows.Add(sequence); _regroup = true; }
        return sequence;
    }

    /// <summary>Takes a sequence out of the batch (a cancelled request); its tokens so far stay readable.</summary>
    public void Remove(DecodeSequence sequence)
    {
        if (_rows.Remove(sequence)) _regroup = true;
        sequence.IsDone = true;
    }

    /// <summary>One forward pass over every sequence's last token: each chooses its next; the ones that end leave the batch.</summary>
    public void Step()
    {
        if (_rows.Count == 0) return;
        if (_regroup)
        {
            _cache = KvCache.Gather(model.Config.Layers, [.. _rows.Select(s => s.Position)]);
            for (int i = 0; i < _rows.Count; i++) _rows[i].Place(_cache, i, _rows[i].Position.TextLength);
            _regroup = false;
        }
        var cache = _cache!;
        int batch = _rows.Count, past = cache.Length, total = past + 1;
        var ids = new int[batch];
        var mask = new int[batch * total];   // row i: its padding (0) first, then its own tokens and the new one (1)
        var outputs = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            ids[i] = _rows[i].Generated[^1];
            mask.AsSpan(i * total + past - _rows[i].Position.TextLength, _rows[i].Position.TextLength + 1).Fill(1);
            outputs[i] = i;
        }
        var plan = _rows.All(s => s.Continuation is null) && ParameterDeltas.Count == 0
            ? null : new PromptPlan([.. _rows.Select(s => s.Continuation)]) { ParameterDeltas = ParameterDeltas };
        using (Tape.NoGrad())
        using (TensorScope.Begin())
        {
            var logits = model.Forward(ids, batch, 1, new ForwardOptions { Cache = cache, AttentionMask = mask, Plan = plan, OutputPositions = outputs });   // [B, V]
            int v = logits.Size(-1);
            for (int i = 0; i < batch; i++) _rows[i].Choose(logits.Span.Slice(i * v, v));
        }
        for (int i = 0; i < batch; i++) _rows[i].Place(cache, i, _rows[i].Position.TextLength + 1);
        if (_rows.RemoveAll(s => s.IsDone) > 0) _regroup = true;
    }

    /// <summary>What acts after the prompt's pass: the deltas (the prefix is in the cache; virtual tokens and attention-input prefixes were in the prompt).</summary>
    static RowPlan? Continuation(RowPlan plan) => plan.Deltas.Count == 0 ? null : new RowPlan { Deltas = plan.Deltas };
}

/// <summary>One sequence of a <see cref="DecodeBatch"/>: its settings, its sampling stream and the tokens chosen so far.</summary>
public sealed class DecodeSequence
{
    readonly List<int> _seen, _generated = [];
    readonly Rng _rng;

    internal DecodeSequence(IReadOnlyList<int> prompt, GenerationOptions options, RowPlan? continuation, int promptPositions)
    {
        _seen = [.. prompt];
        Options = options;
        Continuation = continuation;
        PromptPositions = promptPositions;
        _rng = new Rng(options.Seed);
    }

    public GenerationOptions Options { get; }

    /// <summary>Positions the prompt takes: its ids and its plan's prefix.</summary>
    public int PromptPositions { get; }

    /// <summary>The new tokens so far (the last one is fed at the next step).</summary>
    public IReadOnlyList<int> Generated => _generated;

    /// <summary>True once an end-of-sequence id, a stop string or MaxNewTokens ended it, or it was removed.</summary>
    public bool IsDone { get; internal set; }

    internal RowPlan? Continuation { get; }

    /// <summary>Where its keys and values are: a row of its own cache until it joins, then of the batch's.</summary>
    internal CacheRow Position { get; private set; }

    internal void Place(KvCache cache, int row, int textLength) => Position = new CacheRow(cache, row, textLength);

    internal void Choose(ReadOnlySpan<float> logits)
    {
        int next = Sampling.Choose(logits, _seen, Options, _rng);
        _seen.Add(next);
        _generated.Add(next);
        if (_generated.Count >= Options.MaxNewTokens || Options.Stops(_generated)) IsDone = true;
    }
}
