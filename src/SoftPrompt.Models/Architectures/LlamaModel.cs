using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.Weights;
using SoftPrompt.Models.Plans;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// The Llama family (Llama 2/3, Mistral, Qwen2, SmolLM, TinyLlama) from a Hugging Face checkpoint:
/// RMSNorm, rotary positions (rotate-half, llama3/linear scaling), SwiGLU, grouped-query attention,
/// q/k/v biases where the checkpoint has them (Qwen2), tied or untied head. Frozen weights, held as stored (f32, bf16, f16) or as asked, widened in the GEMM.
/// </summary>
public sealed class LlamaModel : ICausalLanguageModel
{
    sealed record Layer(Tensor InNorm, FrozenWeight Wq, Tensor? Bq, FrozenWeight Wk, Tensor? Bk, FrozenWeight Wv, Tensor? Bv, FrozenWeight Wo,
        Tensor PostNorm, FrozenWeight WGate, FrozenWeight WUp, FrozenWeight WDown);

    readonly FrozenWeight _embed, _head;
    readonly Tensor _norm;
    readonly Layer[] _layers;
    readonly float[] _invFreq;

    public ModelConfig Config { get; }

    LlamaModel(ModelConfig c, FrozenWeight embed, Layer[] layers, Tensor norm, FrozenWeight head)
    {
        Config = c; _embed = embed; _layers = layers; _norm = norm; _head = head;
        _invFreq = RotaryFrequencies.Compute(c);
        LinearLayers = LinearLayersOf(c);
        _others = OtherParametersOf(embed, layers, norm, head);
    }

    readonly OtherParameterList _others;

    public IReadOnlyList<ParameterInfo> OtherParameters => _others.Infos;

    public Tensor OtherParameter(string name) => _others.Copy(name, Config.ModelType);

    // Hugging Face's order: the embedding, each layer's norms and q/k/v biases (Qwen2), the final norm, an untied head
    static OtherParameterList OtherParametersOf(FrozenWeight embed, Layer[] layers, Tensor norm, FrozenWeight head)
    {
        var list = new OtherParameterList();
        list.Add(EmbedName, ParameterKind.Embedding, embed);
        for (int i = 0; i < layers.Length; i++)
        {
            var l = layers[i];
            list.Add(LayerName(i, "input_layernorm.weight"), ParameterKind.Norm, l.InNorm);
            foreach (var (name, bias) in new[] { ("q_proj", l.Bq), ("k_proj", l.Bk), ("v_proj", l.Bv) })
                if (bias is not null) list.Add(LayerName(i, $"self_attn.{name}.bias"), ParameterKind.Bias, bias);
            list.Add(LayerName(i, "post_attention_layernorm.weight"), ParameterKind.Norm, l.PostNorm);
        }
        list.Add("model.norm.weight", ParameterKind.Norm, norm);
        if (!ReferenceEquals(head, embed)) list.Add(HeadName, ParameterKind.Head, head);
        return list;
    }

    /// <summary>storage: keep the checkpoint's dtype (bf16 stays bf16), or hold the matrices as float32 or bf16.</summary>
    public static LlamaModel Load(string directory, WeightStorage storage = WeightStorage.AsStored)
    {
        var c = ModelConfig.Load(Path.Combine(directory, "config.json"));
        if (c.Family != ArchitectureFamily.Llama) throw new ModelConfigException($"{directory}/config.json: model_type '{c.ModelType}' is not in the Llama family.");
        if (c.Activation != "silu") throw new ModelConfigException($"{directory}/config.json: hidden_act '{c.Activation}' is not supported (silu).");
        using var ckpt = SafetensorsCheckpoint.Open(directory);
        Tensor W(string key, params int[] shape) => ckpt.LoadWeight(key, shape);
        FrozenWeight M(string key, params int[] shape) => ckpt.LoadFrozen(key, storage, shape);
        Tensor? Bias(string key, int n) => ckpt.Contains(key) ? W(key, n) : null;
        int d = c.HiddenSize, q = c.Heads * c.HeadDim, kv = c.KvHeads * c.HeadDim, m = c.IntermediateSize;
        var embed = M("model.embed_tokens.weight", c.VocabSize, d);
        var layers = new Layer[c.Layers];
        for (int i = 0; i < c.Layers; i++)
        {
            string p = $"model.layers.{i}.";
            layers[i] = new Layer(W(p + "input_layernorm.weight", d),
                M(p + "self_attn.q_proj.weight", q, d), Bias(p + "self_attn.q_proj.bias", q),
                M(p + "self_attn.k_proj.weight", kv, d), Bias(p + "self_attn.k_proj.bias", kv),
                M(p + "self_attn.v_proj.weight", kv, d), Bias(p + "self_attn.v_proj.bias", kv),
                M(p + "self_attn.o_proj.weight", d, q), W(p + "post_attention_layernorm.weight", d),
                M(p + "mlp.gate_proj.weight", m, d), M(p + "mlp.up_proj.weight", m, d), M(p + "mlp.down_proj.weight", d, m));
        }
        // A tied checkpoint usually omits lm_head.weight; an untied one must carry it.
        var head = ckpt.Contains("lm_head.weight") || !c.TieWordEmbeddings ? M("lm_head.weight", c.VocabSize, d) : embed;
        HugePages.Advise([embed, head, .. layers.SelectMany(l => new[] { l.Wq, l.Wk, l.Wv, l.Wo, l.WGate, l.WUp, l.WDown })]);   // decoding streams them all every token
        return new LlamaModel(c, embed, layers, W("model.norm.weight", d), head);
    }

    public IReadOnlyList<LinearLayerInfo> LinearLayers { get; }

    static LinearLayerInfo[] LinearLayersOf(ModelConfig c)
    {
        int d = c.HiddenSize, q = c.Heads * c.HeadDim, kv = c.KvHeads * c.HeadDim, m = c.IntermediateSize;
        return [.. Enumerable.Range(0, c.Layers).SelectMany(i => new LinearLayerInfo[]
        {
            new(LayerName(i, "self_attn.q_proj"), d, q), new(LayerName(i, "self_attn.k_proj"), d, kv), new(LayerName(i, "self_attn.v_proj"), d, kv),
            new(LayerName(i, "self_attn.o_proj"), q, d), new(LayerName(i, "mlp.gate_proj"), d, m), new(LayerName(i, "mlp.up_proj"), d, m),
            new(LayerName(i, "mlp.down_proj"), m, d),
        })];
    }

    static string LayerName(int layer, string module) => $"model.layers.{layer}.{module}";

    const string EmbedName = "model.embed_tokens.weight", HeadName = "lm_head.weight";

    public Tensor LinearWeight(string name)
    {
        var (index, kind) = LinearWeights.Parse(name, "model.layers.", _layers.Length, Config.ModelType);
        var l = _layers[index];
        return LinearWeights.Stack(storedInOut: false, kind switch
        {
            "self_attn.q_proj" => l.Wq, "self_attn.k_proj" => l.Wk, "self_attn.v_proj" => l.Wv, "self_attn.o_proj" => l.Wo,
            "mlp.gate_proj" => l.WGate, "mlp.up_proj" => l.WUp, "mlp.down_proj" => l.WDown,
            _ => throw new ArgumentException($"'{name}' is not a linear layer of this {Config.ModelType} model (self_attn.q/k/v/o_proj, mlp.gate/up/down_proj).", nameof(name)),
        });
    }

    // ids: B·T token ids, plan: options.Plan as the caller bound it -> final hidden [B, T, D] (or [N, D] at options.OutputPositions)
    public Tensor ForwardHidden(ReadOnlySpan<int> ids, int batch, int seq, PlanBinding plan, ForwardOptions options)
    {
        var c = Config;
        var cache = options.Cache;
        var (positions, mask, _) = ForwardSetup.Prepare(this, plan, ids.Length, batch, seq, options);
        float eps = (float)c.NormEps;
        var x = plan.Embed(plan.Embedding(EmbedName, _embed, ids, batch, seq));
        var (blockStart, lastStart) = OutputRows.Starts(options, seq, plan.ReplacedLeadingPositions);
        int start = 0;   // x holds the residual stream at positions start…T-1
        for (int li = 0; li < _layers.Length; li++)
        {
            var l = _layers[li];
            Tensor P(string local, Tensor frozen) => plan.Parameter(LayerName(li, local), frozen);   // + full fine-tuning's delta, if any
            Tensor Proj(string module, Tensor input, FrozenWeight w, Tensor? bias = null) =>
                plan.Linear(LayerName(li, module), input, w, bias is null ? null : P(module + ".bias", bias));
            var a = F.RmsNorm(plan.AttentionInput(li, OutputRows.Padded(x, start)), P("input_layernorm.weight", l.InNorm), eps);   // Petrov et al.'s prefix replaces the input hidden state, before the norm
            var qh = F.Rope(Proj("self_attn.q_proj", a, l.Wq, l.Bq), c.Heads, _invFreq, positions);
            var kh = F.Rope(Proj("self_attn.k_proj", a, l.Wk, l.Bk), c.KvHeads, _invFreq, positions);
            var vh = Proj("self_attn.v_proj", a, l.Wv, l.Bv);
            options.KeyValueRecorder?.Record(li, kh, vh);
            int? keys = null;
            if (cache is not null) (kh, vh, keys) = cache.Append(li, kh, vh);
            int next = li == _layers.Length - 1 ? lastStart : blockStart;   // queries and the rest only where they are read
            (qh, x, start) = (OutputRows.Suffix(qh, next), OutputRows.Suffix(x, next - start), next);
            var att = ObservedAttention.Compute(options, plan, li, qh, kh, vh, c.Heads, c.KvHeads, mask, keys,
                () => (F.Rope(F.Linear(a, l.Wq, l.Bq), c.Heads, _invFreq, positions), F.Rope(F.Linear(a, l.Wk, l.Bk), c.KvHeads, _invFreq, positions), F.Linear(a, l.Wv, l.Bv)), c.Dropout.Attention);
            x = F.Add(x, Proj("self_attn.o_proj", att, l.Wo));
            var m = F.RmsNorm(x, P("post_attention_layernorm.weight", l.PostNorm), eps);
            var gate = Proj("mlp.gate_proj", m, l.WGate);
            var silu = F.Silu(gate);
            var up = Proj("mlp.up_proj", m, l.WUp);
            var gated = F.Mul(silu, up);
            x = F.Add(x, Proj("mlp.down_proj", gated, l.WDown));
            TensorScope.Release(a, qh, att, m, gate, silu, up, gated);   // without a graph nothing reads them again: a long first pass holds one layer's
        }
        cache?.Advance(seq);
        return F.RmsNorm(OutputRows.Select(x, OutputRows.InSuffix(options.OutputPositions, seq, start)), plan.Parameter("model.norm.weight", _norm), eps);
    }

    // ids: n -> [n, D]
    public Tensor EmbedTokens(ReadOnlySpan<int> ids) => F.Embedding(_embed, ids, ids.Length);

    // weights: [.., V] -> [.., D] through the embedding table [V, D] read as a Linear's [in, out] weight
    public Tensor EmbedWeighted(Tensor weights) => F.Linear(weights, _embed, null, weightInOut: true);

    // hidden: [.., D], plan: the binding the blocks ran -> logits [.., V]
    // (tied: the embedding table, so a delta of it changes the head too)
    public Tensor Head(Tensor hidden, PlanBinding plan) =>
        plan.Head(hidden, _head, ReferenceEquals(_head, _embed) ? EmbedName : HeadName);
}
