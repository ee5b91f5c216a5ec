using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Continuous batching: sequences of different lengths, plans and sampling settings decode together, one forward
/// pass a step over every sequence's last token. Sequences start together (<see cref="Start"/>: their prompts' pass
/// under their whole plans, left-padded, which puts each prefix in that pass's cache and chooses each first token) and
/// join the batch at once, decoding from the next <see cref="Step"/>; a sequence leaves when it ends or is <see cref="Remove"/>d. The batch
/// keeps one cache whose rows are slots (<see cref="KvCache.AddRow"/>, <see cref="KvCache.RemoveRow"/>): a joining
/// sequence's keys and values are copied into the next slot, right-aligned with its padding masked; a leaving one's
/// slot takes the last row. So a row's positions, prefix and deltas are exactly those it has alone and its tokens are
/// those <see cref="Generator.Generate"/> gives it, up to float rounding. Rows share the batch's parameter deltas (one
/// set a batch, as in a forward pass); sequences under other parameter deltas go in another DecodeBatch. Not
/// thread-safe: one thread runs a batch.
/// </summary>
public sealed class DecodeBatch(ICausalLanguageModel model, IReadOnlyDictionary<string, Tensor>? parameterDeltas = null)
{
    readonly List<DecodeSequence> _rows = [];   // the cache's rows, in order
    readonly KvCache _cache = new(model.Config.Layers);

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
    /// token already ends it. One pass reads the weights once for all of them, where one pass each would read them again;
    /// more than <see cref="MaxPrefillPositions"/> positions are split into passes, shortest prompts first.
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
        // Shortest first, in passes of at most MaxPrefillPositions positions (rows × the pass's longest prompt): a pass keeps
        // its intermediates until it ends, so a burst of long prompts in one pass could take more memory than the machine has.
        var order = run.OrderBy(i => prompts[i].Prompt.Count).ToArray();
        for (int from = 0; from < order.Length;)
        {
            int to = from + 1;
            while (to < order.Length && (long)(to + 1 - from) * prompts[order[to]].Prompt.Count <= MaxPrefillPositions) to++;
            FirstPass(prompts, [.. order[from..to]], sequences);
            from = to;
        }
        return sequences;
    }

    /// <summary>Most positions (rows × the longest prompt among them) one first pass of <see cref="Start"/> runs; more prompts take more passes.</summary>
    public int MaxPrefillPositions { get; init; } = 8192;

    // One left-padded pass over prompts[run[·]]: each chooses its first token and, unless that ends it, joins the batch.
    void FirstPass(IReadOnlyList<(IReadOnlyList<int> Prompt, GenerationOptions Options, RowPlan? Plan)> prompts, int[] run, DecodeSequence[] sequences)
    {
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
        using (Tape.NoGrad())
        using (TensorScope.Begin())
        {
            var cache = new KvCache(model.Config.Layers, scoped: true);   // its rows are copied into the batch's before the scope ends
            var logits = model.Forward(ids, batch, longest, new ForwardOptions { Cache = cache, AttentionMask = batch == 1 ? null : mask, Plan = plan, OutputPositions = outputs });   // [B, V]
            int v = logits.Size(-1);
            var joining = new List<int>();
            for (int b = 0; b < batch; b++)
            {
                var sequence = sequences[run[b]];
                sequence.Choose(logits.Span.Slice(b * v, v));
                if (!sequence.IsDone) joining.Add(b);
            }
            // Room for them all at once, then the longest prompt first: a row that joins with more text than the rows
            // already there shifts each of them right (a copy of every row), and the pass's own order (shortest first,
            // from Start) did that at every join.
            // The length covers their new tokens too (as Generator's cache does), up to the model's positions: decoding
            // then grows it only when a later row needs more.
            int reserve = joining.Count == 0 ? 0 : joining.Max(b => prompts[run[b]].Prompt.Count + prompts[run[b]].Options.MaxNewTokens);
            _cache.Reserve(cache, joining.Count, Math.Min(reserve, model.Config.MaxPositions));
            foreach (int b in joining.OrderBy(b => pads[b]))
            {
                _cache.AddRow(new CacheRow(cache, b, prompts[run[b]].Prompt.Count));   // row _rows.Count: the cache's rows and _rows stay in step
                _rows.Add(sequences[run[b]]);
            }
        }
    }

    /// <summary>Takes a sequence out of the batch (a cancelled request); its tokens so far stay readable.</summary>
    public void Remove(DecodeSequence sequence)
    {
        int i = _rows.IndexOf(sequence);
        if (i >= 0) Leave(i);
        sequence.IsDone = true;
    }

    /// <summary>Row i leaves the cache: the last row takes its slot (in the cache and here).</summary>
    void Leave(int i)
    {
        int last = _rows.Count - 1;
        _cache.RemoveRow(i);
        if (i != last) _rows[i] = _rows[last];
        _rows.RemoveAt(last);
    }

    /// <summary>One forward pass over every sequence's last token: each chooses its next; the ones that end leave the batch.</summary>
    public void Step()
    {
        if (_rows.Count == 0) return;
        var cache = _cache;
        cache.MakeRoom(1);
        int batch = _rows.Count, past = cache.Length, total = past + 1;
        var ids = new int[batch];
        var mask = new int[batch * total];   // row i: its padding (0) first, then its own tokens and the new one (1)
        var outputs = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            ids[i] = _rows[i].Generated[^1];
            int text = cache.TextLength(i);
            mask.AsSpan(i * total + past - text, text + 1).Fill(1);
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
        for (int i = batch - 1; i >= 0; i--)
            if (_rows[i].IsDone) Leave(i);
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

    internal void Choose(ReadOnlySpan<float> logits)
    {
        int next = Sampling.Choose(logits, _seen, Options, _rng);
        _seen.Add(next);
        _generated.Add(next);
        if (_generated.Count >= Options.MaxNewTokens || Options.Stops(_generated)) IsDone = true;
    }
}
