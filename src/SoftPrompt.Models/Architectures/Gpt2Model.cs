using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Weights;
using SoftPrompt.Models.Plans;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// GPT-2 (Hugging Face GPT2LMHeadModel) from a checkpoint directory: keys with or without the
/// "transformer." prefix, Conv1D weights stored [in, out] (held transposed, [out, in], like nn.Linear's: a decoding
/// step's products then read contiguous rows), attn.bias mask buffers ignored, the head tied to wte. Weights are frozen,
/// held as stored (f32, bf16, f16) or as asked, and widened in the GEMM. c_attn stays one q|k|v projection: one GEMM
/// (one matrix-vector product a decoding step, where three cost two more dispatches a layer), its output split after.
/// </summary>
public sealed class Gpt2Model : ICausalLanguageModel
{
    sealed record Block(Tensor? Ln1W, Tensor? Ln1B, FrozenWeight WQkv, Tensor BQkv,
        FrozenWeight WProj, Tensor BProj, Tensor Ln2W, Tensor Ln2B, FrozenWeight WFc, Tensor BFc, FrozenWeight WOut, Tensor BOut);

    readonly FrozenWeight _wte, _wpe, _head;
    readonly Tensor _lnfW, _lnfB;
    readonly Block[] _blocks;

    public ModelConfig Config { get; }

    Gpt2Model(ModelConfig config, FrozenWeight wte, FrozenWeight wpe, Block[] blocks, Tensor lnfW, Tensor lnfB, FrozenWeight head)
    {
        Config = config; _wte = wte; _wpe = wpe; _blocks = blocks; _lnfW = lnfW; _lnfB = lnfB; _head = head;
        LinearLayers = LinearLayersOf(config);
        _others = OtherParametersOf(wte, wpe, blocks, lnfW, lnfB, head);
    }

    readonly OtherParameterList _others;

    public IReadOnlyList<ParameterInfo> OtherParameters => _others.Infos;

    public Tensor OtherParameter(string name) => _others.Copy(name, Config.ModelType);

    // Hugging Face's order: embeddings, each block's norms and biases, the final norm, an untied head
    static OtherParameterList OtherParametersOf(FrozenWeight wte, FrozenWeight wpe, Block[] blocks, Tensor lnfW, Tensor lnfB, FrozenWeight head)
    {
        var list = new OtherParameterList();
        list.Add(WteName, ParameterKind.Embedding, wte);
        list.Add("transformer.wpe.weight", ParameterKind.Embedding, wpe);
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            if (b.Ln1W is not null) { list.Add(LayerName(i, "ln_1.weight"), ParameterKind.Norm, b.Ln1W); list.Add(LayerName(i, "ln_1.bias"), ParameterKind.Norm, b.Ln1B!); }
            list.Add(LayerName(i, "attn.c_attn.bias"), ParameterKind.Bias, b.BQkv);
            list.Add(LayerName(i, "attn.c_proj.bias"), ParameterKind.Bias, b.BProj);
            list.Add(LayerName(i, "ln_2.weight"), ParameterKind.Norm, b.Ln2W);
            list.Add(LayerName(i, "ln_2.bias"), ParameterKind.Norm, b.Ln2B);
            list.Add(LayerName(i, "mlp.c_fc.bias"), ParameterKind.Bias, b.BFc);
            list.Add(LayerName(i, "mlp.c_proj.bias"), ParameterKind.Bias, b.BOut);
        }
        list.Add("transformer.ln_f.weight", ParameterKind.Norm, lnfW);
        list.Add("transformer.ln_f.bias", ParameterKind.Norm, lnfB);
        if (!ReferenceEquals(head, wte)) list.Add(HeadName, ParameterKind.Head, head);
        return list;
    }

    /// <summary>storage: keep the checkpoint's dtype (bf16 stays bf16), or hold the matrices as float32 or bf16.</summary>
    public static Gpt2Model Load(string directory, WeightStorage storage = WeightStorage.AsStored)
    {
        var c = ModelConfig.Load(Path.Combine(directory, "config.json"));
        if (c.Family != ArchitectureFamily.Gpt2) throw new ModelConfigException($"{directory}/config.json: model_type '{c.ModelType}' is not GPT-2.");
        if (c.Activation is not ("gelu_new" or "gelu_pytorch_tanh" or "gelu"))
            throw new ModelConfigException($"{directory}/config.json: activation_function '{c.Activation}' is not supported (gelu_new, gelu_pytorch_tanh, gelu).");
        using var ckpt = SafetensorsCheckpoint.Open(directory);
        string prefix = ckpt.Contains("transformer.wte.weight") ? "transformer." : "";
        Tensor W(string name, params int[] shape) => ckpt.LoadWeight(prefix + name, shape);
        FrozenWeight M(string name, params int[] shape) => ckpt.LoadFrozen(prefix + name, storage, shape);
        FrozenWeight Conv1D(string name, params int[] shape) => M(name, shape).Transposed();   // [in, out] -> [out, in]: see FrozenWeight.Transposed
        int d = c.HiddenSize, m = c.IntermediateSize;
        var wte = M("wte.weight", c.VocabSize, d);
        var wpe = M("wpe.weight", c.MaxPositions, d);
        var blocks = new Block[c.Layers];
        for (int i = 0; i < c.Layers; i++)
        {
            string h = $"h.{i}.";
            var cAttn = Conv1D(h + "attn.c_attn.weight", d, 3 * d);
            blocks[i] = new Block(c.SkipAttentionNorm ? null : W(h + "ln_1.weight", d), c.SkipAttentionNorm ? null : W(h + "ln_1.bias", d),
                cAttn, W(h + "attn.c_attn.bias", 3 * d),
                Conv1D(h + "attn.c_proj.weight", d, d), W(h + "attn.c_proj.bias", d), W(h + "ln_2.weight", d), W(h + "ln_2.bias", d),
                Conv1D(h + "mlp.c_fc.weight", d, m), W(h + "mlp.c_fc.bias", m), Conv1D(h + "mlp.c_proj.weight", m, d), W(h + "mlp.c_proj.bias", d));
        }
        // GPT2LMHeadModel ties the head to wte; an untied head (minGPT's) is "lm_head.weight" [V, D], no bias.
        var head = !c.TieWordEmbeddings && ckpt.Contains("lm_head.weight") ? ckpt.LoadFrozen("lm_head.weight", storage, c.VocabSize, d) : wte;
        HugePages.Advise([wte, wpe, head, .. blocks.SelectMany(b => new[] { b.WQkv, b.WProj, b.WFc, b.WOut })]);   // decoding streams them all every token
        return new Gpt2Model(c, wte, wpe, blocks, W("ln_f.weight", d), W("ln_f.bias", d), head);
    }

    public IReadOnlyList<LinearLayerInfo> LinearLayers { get; }

    static LinearLayerInfo[] LinearLayersOf(ModelConfig c) => [.. Enumerable.Range(0, c.Layers).SelectMany(i => new LinearLayerInfo[]
    {
        new(LayerName(i, "attn.c_attn"), c.HiddenSize, 3 * c.HiddenSize), new(LayerName(i, "attn.c_proj"), c.HiddenSize, c.HiddenSize),
        new(LayerName(i, "mlp.c_fc"), c.HiddenSize, c.IntermediateSize), new(LayerName(i, "mlp.c_proj"), c.IntermediateSize, c.HiddenSize),
    })];

    public Tensor LinearWeight(string name)
    {
        var (block, kind) = LinearWeights.Parse(name, "transformer.h.", _blocks.Length, Config.ModelType);
        var b = _blocks[block];
        return kind switch
        {
            "attn.c_attn" => LinearWeights.Stack(storedInOut: false, b.WQkv),
            "attn.c_proj" => LinearWeights.Stack(storedInOut: false, b.WProj),
            "mlp.c_fc" => LinearWeights.Stack(storedInOut: false, b.WFc),
            "mlp.c_proj" => LinearWeights.Stack(storedInOut: false, b.WOut),
            _ => throw new ArgumentException($"'{name}' is not a linear layer of this {Config.ModelType} model (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj).", nameof(name)),
        };
    }

    const string WteName = "transformer.wte.weight", HeadName = "lm_head.weight";

    /// <summary>PEFT's module path of a block's linear layer (GPT2LMHeadModel's tree, whatever the checkpoint's key prefix).</summary>
    static string LayerName(int block, string layer) => $"transformer.h.{block}.{layer}";

    // ids: B·T token ids, plan: options.Plan as the caller bound it -> final hidden [B, T, D] (or [N, D] at options.OutputPositions)
    public Tensor ForwardHidden(ReadOnlySpan<int> ids, int batch, int seq, PlanBinding plan, ForwardOptions options)
    {
        var c = Config;
        var cache = options.Cache;
        var (positions, mask, past) = ForwardSetup.Prepare(this, plan, ids.Length, batch, seq, options);
        if (positions.Length > 0 && positions.Max() >= c.MaxPositions)
            throw new ArgumentException($"Forward: {plan.PrefixLength} prefix + {past} cached + {seq} new tokens reach position {positions.Max()}, past n_positions {c.MaxPositions}.");
        var drop = c.Dropout;
        Tensor Dropout(Tensor t, float p) => options.DropoutRng is { } rng ? F.Dropout(t, p, rng) : t;   // training mode only
        var x = Dropout(F.Add(plan.Embed(plan.Embedding(WteName, _wte, ids, batch, seq)), plan.Embedding("transformer.wpe.weight", _wpe, positions, batch, seq)), drop.Embedding);
        float eps = (float)c.NormEps;
        var (blockStart, lastStart) = OutputRows.Starts(options, seq, plan.ReplacedLeadingPositions);
        int start = 0;   // x holds the residual stream at positions start…T-1
        for (int li = 0; li < _blocks.Length; li++)
        {
            var b = _blocks[li];
            Tensor P(string local, Tensor frozen) => plan.Parameter(LayerName(li, local), frozen);   // + full fine-tuning's delta, if any
            var h = plan.AttentionInput(li, OutputRows.Padded(x, start));   // Petrov et al.'s prefix replaces the block's input hidden state, before ln_1
            var a = b.Ln1W is null ? h : F.LayerNorm(h, P("ln_1.weight", b.Ln1W), P("ln_1.bias", b.Ln1B!), eps);
            string cAttn = LayerName(li, "attn.c_attn");
            var (q, k, v) = SplitQkv(plan.Linear(cAttn, a, b.WQkv, P("attn.c_attn.bias", b.BQkv)));
            options.KeyValueRecorder?.Record(li, k, v);
            int? keys = null;
            if (cache is not null) (k, v, keys) = cache.Append(li, k, v);
            int next = li == _blocks.Length - 1 ? lastStart : blockStart;   // queries and the rest only where they are read
            (q, x, start) = (OutputRows.Suffix(q, next), OutputRows.Suffix(x, next - start), next);
            var att = ObservedAttention.Compute(options, plan, li, q, k, v, c.Heads, c.Heads, mask, keys,
                () => SplitQkv(F.Linear(a, b.WQkv, b.BQkv)), drop.Attention);
            x = F.Add(x, Dropout(plan.Linear(LayerName(li, "attn.c_proj"), att, b.WProj, P("attn.c_proj.bias", b.BProj)), drop.Residual));
            var mlp = F.LayerNorm(x, P("ln_2.weight", b.Ln2W), P("ln_2.bias", b.Ln2B), eps);
            var fc = plan.Linear(LayerName(li, "mlp.c_fc"), mlp, b.WFc, P("mlp.c_fc.bias", b.BFc));
            var act = F.Gelu(fc, approximateTanh: c.Activation != "gelu");
            x = F.Add(x, Dropout(plan.Linear(LayerName(li, "mlp.c_proj"), act, b.WOut, P("mlp.c_proj.bias", b.BOut)), drop.Residual));
            TensorScope.Release(b.Ln1W is null ? null : a, q, att, mlp, fc, act);   // without a graph nothing reads them again: a long first pass holds one layer's
        }
        cache?.Advance(seq);
        return F.LayerNorm(OutputRows.Select(x, OutputRows.InSuffix(options.OutputPositions, seq, start)),
            plan.Parameter("transformer.ln_f.weight", _lnfW), plan.Parameter("transformer.ln_f.bias", _lnfB), eps);
    }

    // qkv: c_attn's output [.., 3D], q | k | v by columns -> three [.., D]
    static (Tensor Q, Tensor K, Tensor V) SplitQkv(Tensor qkv)
    {
        var parts = F.Split(qkv, -1, 3);
        return (parts[0], parts[1], parts[2]);
    }

    // ids: n -> [n, D]
    public Tensor EmbedTokens(ReadOnlySpan<int> ids) => F.Embedding(_wte, ids, ids.Length);

    // weights: [.., V] -> [.., D] through wte [V, D] read as a Linear's [in, out] weight
    public Tensor EmbedWeighted(Tensor weights) => F.Linear(weights, _wte, null, weightInOut: true);

    // hidden: [.., D], plan: the binding the blocks ran -> logits [.., V]; the head is wte ([V, D], PyTorch Linear layout) unless the checkpoint unties it,
    // so a delta of wte changes the tied head too, as fine-tuning a tied GPT2LMHeadModel does
    public Tensor Head(Tensor hidden, PlanBinding plan) =>
        plan.Head(hidden, _head, ReferenceEquals(_head, _wte) ? WteName : HeadName);
}
