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
    public DecodeSequence Start(IReadOnlyList<int> prompt, GenerationOptions options, RowPlan? plan = null) => Start([(prompt, options, plan)])[0];

    /// <summary>
    /// Runs several prompts in one forward pass — left-padded and masked, each under its own row plan, as
    /// <see cref="Generator.GenerateBatch"/> does — and chooses each one's first token; each joins the batch unless that
    /// token already ends it. One pass reads the weights once for all of them, where one pass each would read them again.
    /// </summary>
    public IReadOnlyList<DecodeSequence> Start(IReadOnlyList<(IReadOnlyList<int> Prompt, GenerationOptions Options, RowPlan? Plan)> prompts)
    {
        foreach (var (prompt, options, _) in prompts)
        {
            if (prompt.Count == 0) throw new ArgumentException("DecodeBatch.Start: a prompt has no tokens.");
            options.Validate();
        }
        var sequences = prompts.Select(p => new DecodeSequence(p.Prompt, p.Options, p.Plan is null ? null : Continuation(p.Plan), (p.Plan?.Prefix?.Length ?? 0) + p.Prompt.Count)).ToArray();
        var run = Enumerable.Range(0, prompts.Count).Where(i => prompts[i].Options.MaxNewTokens > 0).ToArray();
        foreach (int i in Enumerable.Range(0, prompts.Count).Except(run)) sequences[i].IsDone = true;
        if (run.Length == 0) return sequences;
        int batch = run.Length, longest = run.Max(i => prompts[i].Prompt.Count);
        var pads = run.Select(i => longest - prompts[i].Prompt.Count).ToArray();
        var ids = new int[batch * longest];
        var mask = new int[batch * longest];
        var outputs = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            var prompt = prompts[run[b]].Prompt;
            for (int t = 0; t < prompt.Count; t++) ids[b * longest + pads[b] + t] = prompt[t];
            mask.AsSpan(b * longest + pads[b], prompt.Count).Fill(1);
            outputs[b] = b * longest + longest - 1;
        }
        var rows = run.Select(i => prompts[i].Plan).ToArray();
        PromptPlan? plan = null;
        if (rows.Any(r => r is not null) || ParameterDeltas.Count > 0)
            plan = new PromptPlan(new PromptPlan(rows).Shifted(pads).Rows) { ParameterDeltas = ParameterDeltas };   // virtual tokens move past the padding
        var cache = new KvCache(model.Config.Layers);
        using (Tape.NoGrad())
        using (TensorScope.Begin())
        {
            var logits = model.Forward(ids, batch, longest, new ForwardOptions { Cache = cache, AttentionMask = batch == 1 ? null : mask, Plan = plan, OutputPositions = outputs });   // [B, V]
            int v = logits.Size(-1);
            for (int b = 0; b < batch; b++) sequences[run[b]].Choose(logits.Span.Slice(b * v, v));
        }
        for (int b = 0; b < batch; b++)
        {
            var sequence = sequences[run[b]];
            sequence.Place(cache, b, prompts[run[b]].Prompt.Count);
            if (!sequence.IsDone) { _rows.Add(sequence); _regroup = true; }
        }
        return sequences;
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
