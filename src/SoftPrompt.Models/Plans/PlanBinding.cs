using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Ops;
using SoftPrompt.Tensors.Weights;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// A prompt plan checked against one model and bound to one forward pass: the splices of the soft
/// tokens, the per-layer prefix batch [B, P, W] (rows padded to the longest prefix and masked), the
/// text's position ids shifted by each row's prefix length, the low-rank deltas grouped by layer
/// and by the rows that share them, and the batch's parameter deltas. Whoever runs the pass binds
/// (<see cref="Bind"/>) and hands the binding to the blocks and then to the head, so a plan is checked
/// once a pass; architectures call it at the few points where a plan acts and never see the raw plan.
/// </summary>
public sealed partial class PlanBinding
{
    readonly ICausalLanguageModel _model;
    readonly PromptPlan? _plan;
    readonly KvCache? _cache;
    readonly int _batch;
    readonly Tensor[]? _prefixKeys, _prefixValues;
    readonly int[] _rowPrefix;
    readonly Dictionary<string, List<(LowRankDelta Delta, int[] Rows)>> _deltas = [];
    readonly Dictionary<string, Tensor> _folded = [];   // module -> the dense ΔW every row carries [out, in], folded into W

    /// <summary>Longest prefix of the batch (0 without prefixes).</summary>
    public int PrefixLength { get; }

    PlanBinding(ICausalLanguageModel model, PromptPlan? plan, KvCache? cache, int batch, int[] rowPrefix, Tensor[]? keys, Tensor[]? values)
    {
        _model = model; _plan = plan; _cache = cache; _batch = batch; _rowPrefix = rowPrefix; _prefixKeys = keys; _prefixValues = values;
        PrefixLength = keys?[0].Shape[1] ?? 0;
    }

    /// <summary>
    /// Checks the plan (null: the plain model) against the model — layers, widths, module and parameter names —
    /// for a pass of <paramref name="batch"/> rows over <paramref name="cache"/>, and builds the prefix batch.
    /// A prefix given with the first pass over a cache goes into the cache here.
    /// </summary>
    public static PlanBinding Bind(ICausalLanguageModel model, PromptPlan? plan, int batch, KvCache? cache = null)
    {
        var c = model.Config;
        if (plan is not null && plan.Batch != batch)
            throw new ArgumentException($"PromptPlan: the plan has {plan.Batch} rows but the batch has {batch}.");
        int width = c.KvHeads * c.HeadDim;
        Tensor[]? keys = null, values = null;
        var rowPrefix = new int[batch];
        if (cache is not null && cache.HasPrefix)
        {
            for (int b = 0; plan is not null && b < batch; b++)
                if (plan[b]?.Prefix is { } p && !cache.HoldsPrefix(b, p))
                    throw new ArgumentException($"PromptPlan: row {b} brings a prefix the cache does not hold; a prefix is given with the first pass over a cache.");
            (keys, values) = CachedPrefix(cache, c.Layers);
            cache.RowPrefixLengths.CopyTo(rowPrefix);
        }
        else if (plan is not null && plan.HasPrefix)
        {
            if (cache is not null && cache.Length > 0)
                throw new ArgumentException("PromptPlan: a key/value prefix must come with the first pass over a cache, not after cached tokens.");
            var sources = new KvPrefix?[batch];
            for (int b = 0; b < batch; b++)
            {
                sources[b] = plan[b]?.Prefix;
                if (sources[b] is not { } p) continue;
                if (p.Keys.Count != c.Layers)
                    throw new ShapeMismatchException($"PromptPlan: row {b}'s prefix has {p.Keys.Count} layers; the model has {c.Layers}.");
                if (p.Keys[0].Shape[1] != width)
                    throw new ShapeMismatchException($"PromptPlan: row {b}'s prefix rows are {p.Keys[0].Shape[1]} wide; the model's keys are {c.KvHeads} heads × {c.HeadDim} = {width}.");
                rowPrefix[b] = p.Length;
            }
            (keys, values) = BuildPrefix(sources, rowPrefix, c.Layers, width);
            if (cache is not null)
            {
                cache.SetPrefix(keys, values, rowPrefix, sources);
                (keys, values) = CachedPrefix(cache, c.Layers);
            }
        }
        var binding = new PlanBinding(model, plan, cache, batch, rowPrefix, keys, values);
        if (plan is not null)
        {
            binding.GroupDeltas(model, plan);
            binding._parameterDeltas = CheckedParameterDeltas(model, plan);
        }
        return binding;
    }

    /// <summary>
    /// Throws unless this binding was made by <see cref="Bind"/> for this model, options.Plan and options.Cache and a
    /// batch of this size: an architecture runs the binding it is given, so a pass cannot execute one plan while its
    /// options name another.
    /// </summary>
    internal void CheckBoundTo(ICausalLanguageModel model, ForwardOptions options, int batch)
    {
        if (!ReferenceEquals(_model, model) || !ReferenceEquals(_plan, options.Plan) || !ReferenceEquals(_cache, options.Cache) || _batch != batch)
            throw new ArgumentException("Forward: the plan binding was made for another model, plan, cache or batch size than this pass's; bind options.Plan with PlanBinding.Bind(model, options.Plan, batch, options.Cache).");
    }

    static (Tensor[] Keys, Tensor[] Values) CachedPrefix(KvCache cache, int layers)
    {
        var keys = new Tensor[layers];
        var values = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            var (k, v) = cache.Prefix(l);
            keys[l] = k!; values[l] = v!;
        }
        return (keys, values);
    }

    /// <summary>Per layer, rows' prefixes [P_b, W] padded with zeros to [B, Pmax, W] (the padding is masked out).</summary>
    static (Tensor[] Keys, Tensor[] Values) BuildPrefix(KvPrefix?[] rows, int[] lengths, int layers, int width)
    {
        int longest = lengths.Max();
        var keys = new Tensor[layers];
        var values = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            keys[l] = F.Stack(rows.Select((p, b) => Padded(p?.Keys[l], lengths[b], longest, width)).ToArray(), 0);
            values[l] = F.Stack(rows.Select((p, b) => Padded(p?.Values[l], lengths[b], longest, width)).ToArray(), 0);
        }
        return (keys, values);
    }

    static Tensor Padded(Tensor? rows, int length, int longest, int width)
    {
        if (rows is null) return Tensor.Zeros(longest, width);
        return length == longest ? rows : F.Concat([rows, Tensor.Zeros(longest - length, width)], 0);
    }

    void GroupDeltas(ICausalLanguageModel model, PromptPlan plan)
    {
        Dictionary<string, LinearLayerInfo>? layers = null;
        for (int b = 0; b < _batch; b++)
        {
            if (plan[b] is not { } row) continue;
            foreach (var d in row.Deltas)
            {
                layers ??= model.LinearLayers.ToDictionary(i => i.Name);
                if (!layers.TryGetValue(d.Module, out var info))
                    throw new ArgumentException($"PromptPlan: row {b} has a low-rank delta on '{d.Module}', which is not a linear layer of this {model.Config.ModelType} model (e.g. '{model.LinearLayers[0].Name}').");
                if (d.B is null)
                {
                    if (d.A.Rank != 2 || d.A.Shape[0] != info.OutFeatures || d.A.Shape[1] != info.InFeatures)
                        throw new ShapeMismatchException($"PromptPlan: the dense delta on '{d.Module}' is {Tensor.Format(d.A.Shape)}; the layer needs [{info.OutFeatures}, {info.InFeatures}].");
                }
                else if (d.A.Rank != 2 || d.B.Rank != 2 || d.A.Shape[1] != info.InFeatures || d.B.Shape[0] != info.OutFeatures || d.B.Shape[1] != d.A.Shape[0])
                    throw new ShapeMismatchException($"PromptPlan: the delta on '{d.Module}' has A {Tensor.Format(d.A.Shape)} and B {Tensor.Format(d.B.Shape)}; the layer needs A [r, {info.InFeatures}] and B [{info.OutFeatures}, r].");
                if (!_deltas.TryGetValue(d.Module, out var groups)) _deltas[d.Module] = groups = [];
                int g = groups.FindIndex(x => x.Delta == d);
                if (g < 0) groups.Add((d, [b]));
                else groups[g] = (d, [.. groups[g].Rows, b]);
            }
        }
        // A dense delta (full fine-tuning's ΔW) that every row carries runs folded into its weight: x·(W + ΔW)ᵀ is one GEMM
        // forward and two backward, as fine-tuning W itself, where x·Wᵀ + x·ΔWᵀ would be two and three.
        foreach (var (module, groups) in _deltas.ToArray())
            if (groups is [var (d, rows)] && rows.Length == _batch && d.IsDense && (d.Dropout == 0f || !plan.Training))
            {
                _folded[module] = d.Scale == 1f ? d.A : F.Scale(d.A, d.Scale);
                _deltas.Remove(module);
            }
    }

    // x: [.., in] -> x·Wᵀ + b (+ lowRank), with the dense delta every row carries on `module` folded into W (one GEMM);
    // the frozen W alone without one. weightInOut: W stored [in, out].
    Tensor FoldedLinear(string module, Tensor x, FrozenWeight w, Tensor? bias, bool weightInOut, LowRankTerm? lowRank)
    {
        if (!_folded.TryGetValue(module, out var delta)) return F.Linear(x, w, bias, weightInOut, lowRank);
        return F.Linear(x, F.Add(w, weightInOut ? F.Transpose(delta, 0, 1) : delta), bias, weightInOut, lowRank);
    }

    /// <summary>
    /// x: [.., in] -> the linear layer's output with every delta on it: its weight with a folded dense delta, plus the
    /// low-rank ones. One low-rank delta that every row carries (LoRA's usual case; no LoRA dropout while training) is
    /// added inside the layer's own Linear (<see cref="LowRankTerm"/>): s·(x·Aᵀ)·Bᵀ accumulates into the output the GEMM
    /// wrote, and backward reads the output's gradient directly, where a separate delta and Add wrote, added and copied
    /// [rows, out] tensors.
    /// </summary>
    public Tensor Linear(string module, Tensor x, FrozenWeight w, Tensor? bias, bool weightInOut = false)
    {
        if (_deltas.TryGetValue(module, out var groups) && groups is [var (d, rows)] && rows.Length == _batch && d.B is { } b
            && (d.Dropout == 0f || !_plan!.Training))
            return FoldedLinear(module, x, w, bias, weightInOut, new LowRankTerm(F.Linear(x, d.A), b, d.Scale));
        return Linear(module, x, FoldedLinear(module, x, w, bias, weightInOut, null));
    }

    /// <summary>tokens: [B, T, D] token embeddings -> the same with the rows' soft tokens spliced in.</summary>
    public Tensor Embed(Tensor tokens)
    {
        if (_plan is null) return tokens;
        var splices = new List<RowSplice>();
        for (int b = 0; b < _batch; b++)
            foreach (var s in _plan[b]?.SoftTokens ?? [])
                splices.Add(new RowSplice(b, s.Position, s.Embeddings));
        return splices.Count == 0 ? tokens : F.Splice(tokens, splices);
    }

    /// <summary>B·seq: 1 where a row's position holds one of its plan's virtual tokens or attention-input prefix; null when no row has any.</summary>
    public int[]? SoftPositions(int seq)
    {
        if (_plan is null || _plan.Rows.All(r => r is null || (r.SoftTokens.Count == 0 && r.AttentionInputPrefix is null))) return null;
        var m = new int[_batch * seq];
        for (int b = 0; b < _batch; b++)
        {
            foreach (var s in _plan[b]?.SoftTokens ?? [])
                m.AsSpan(b * seq + s.Position, s.Count).Fill(1);
            if (_plan[b]?.AttentionInputPrefix is { } p) m.AsSpan(b * seq + p.Position, p.Length).Fill(1);
        }
        return m;
    }

    /// <summary>
    /// Leading positions whose hidden state every row's attention-input prefix replaces at every layer's input
    /// (its prefix starts at 0; the shortest counts): what a layer computes there after its keys and values
    /// is never read, so the architectures skip it. 0 when some row has no such prefix.
    /// </summary>
    public int ReplacedLeadingPositions
    {
        get
        {
            if (_plan is null) return 0;
            int n = int.MaxValue;
            for (int b = 0; b < _batch; b++)
                n = Math.Min(n, _plan[b]?.AttentionInputPrefix is { Position: 0 } p ? p.Length : 0);
            return _batch == 0 ? 0 : n;
        }
    }

    /// <summary>a: [B, T, D] the hidden state entering layer l's attention block (before its norm) -> the same with each row's attention-input prefix at its positions.</summary>
    public Tensor AttentionInput(int layer, Tensor a)
    {
        if (_plan is null) return a;
        List<RowSplice>? splices = null;
        for (int b = 0; b < _batch; b++)
            if (_plan[b]?.AttentionInputPrefix is { } p)
            {
                if (p.Layers.Count <= layer) throw new ArgumentException($"PromptPlan: row {b}'s attention-input prefix has {p.Layers.Count} layers; the model has more.");
                (splices ??= []).Add(new RowSplice(b, p.Position, p.Layers[layer]));
            }
        return splices is null ? a : F.Splice(a, splices);
    }

    /// <summary>
    /// Position ids of the new tokens: HF's (from the cache length and the padding mask), after each row's
    /// key/value prefix. An attention-input prefix's slots are ordinary positions, as in the authors' code
    /// (their prefix replaces the hidden state at the sequence's first P positions), so the text after it starts at P.
    /// </summary>
    public int[] Positions(int seq, int past, int[]? mask)
    {
        var positions = PositionIds.For(_batch, seq, past, mask);
        if (PrefixLength > 0)
            for (int i = 0; i < positions.Length; i++) positions[i] += _rowPrefix[i / seq];
        return positions;
    }

    /// <summary>Layer l's prefix keys and values [B, P, W], or nulls.</summary>
    public (Tensor? Keys, Tensor? Values) Prefix(int layer) => _prefixKeys is null ? (null, null) : (_prefixKeys[layer], _prefixValues![layer]);

    /// <summary>
    /// The attention mask for keys = prefix + text: B·(P + Tk) when there is a prefix (a row's own
    /// prefix visible, its padding not), else the text mask as given. textMask: B·Tk or null.
    /// </summary>
    public int[]? AttentionMask(int[]? textMask, int keys)
    {
        if (PrefixLength == 0) return textMask;
        int p = PrefixLength, l = p + keys;
        var m = new int[_batch * l];
        for (int b = 0; b < _batch; b++)
        {
            m.AsSpan(b * l, _rowPrefix[b]).Fill(1);
            if (textMask is null) m.AsSpan(b * l + p, keys).Fill(1);
            else textMask.AsSpan(b * keys, keys).CopyTo(m.AsSpan(b * l + p, keys));
        }
        return m;
    }

    /// <summary>
    /// x: [B, T, in] the input of linear layer `module`, y: its output [B, T, out] -> y + Σ over the deltas on it of
    /// Scale·(dropout(x)·Aᵀ)·Bᵀ for the rows that carry each; y itself when no delta targets the layer.
    /// A delta every row carries is added whole; deltas of some rows each go straight into those rows of y, all of them
    /// in one IndexAdd when no row carries two. Padding each to a [B, T, out] of zeros first (then summing them) cost
    /// three full-size tensors a delta: a 32-row first pass with a LoRA a row took 14 GB more than without.
    /// </summary>
    public Tensor Linear(string module, Tensor x, Tensor y)
    {
        if (!_deltas.TryGetValue(module, out var groups)) return y;
        List<(int[] Rows, Tensor Delta)>? some = null;
        foreach (var (d, rows) in groups)
        {
            bool all = rows.Length == _batch;
            var xr = all ? x : F.IndexSelect(x, rows);
            if (d.Dropout > 0f && _plan!.Training)
                xr = F.Dropout(xr, d.Dropout, _plan.Rng ?? throw new InvalidOperationException("PromptPlan: LoRA dropout while training needs the plan's Rng."));
            var delta = d.B is null ? F.Linear(xr, d.A) : F.Linear(F.Linear(xr, d.A), d.B);
            if (d.Scale != 1f) delta = F.Scale(delta, d.Scale);
            if (all) y = F.Add(y, delta);
            else (some ??= []).Add((rows, delta));
        }
        if (some is null) return y;
        int[] union = [.. some.SelectMany(g => g.Rows)];
        if (union.Distinct().Count() == union.Length)
            return F.IndexAdd(y, union, some.Count == 1 ? some[0].Delta : F.Concat([.. some.Select(g => g.Delta)], 0));
        foreach (var (rows, delta) in some) y = F.IndexAdd(y, rows, delta);
        return y;
    }
}
