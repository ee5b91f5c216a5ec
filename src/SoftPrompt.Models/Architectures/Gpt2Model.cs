using SoftPrompt.Models.Config;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Models.Generation;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// GPT-2 (Hugging Face GPT2LMHeadModel) from a checkpoint directory: keys with or without the
/// "transformer." prefix, Conv1D weights stored [in, out], attn.bias mask buffers ignored, the
/// head tied to wte. Weights are frozen float32. c_attn's q|k|v columns are split once at load
/// so the fused attention gets three contiguous projections.
/// </summary>
public sealed class Gpt2Model : ICausalLanguageModel
{
    sealed record Block(Tensor Ln1W, Tensor Ln1B, Tensor Wq, Tensor Bq, Tensor Wk, Tensor Bk, Tensor Wv, Tensor Bv,
        Tensor WProj, Tensor BProj, Tensor Ln2W, Tensor Ln2B, Tensor WFc, Tensor BFc, Tensor WOut, Tensor BOut);

    readonly Tensor _wte, _wpe, _lnfW, _lnfB;
    readonly Block[] _blocks;

    public ModelConfig Config { get; }

    Gpt2Model(ModelConfig config, Tensor wte, Tensor wpe, Block[] blocks, Tensor lnfW, Tensor lnfB)
    {
        Config = config; _wte = wte; _wpe = wpe; _blocks = blocks; _lnfW = lnfW; _lnfB = lnfB;
    }

    public static Gpt2Model Load(string directory)
    {
        var c = ModelConfig.Load(Path.Combine(directory, "config.json"));
        if (c.Family != ArchitectureFamily.Gpt2) throw new ModelConfigException($"{directory}/config.json: model_type '{c.ModelType}' is not GPT-2.");
        if (c.Activation is not ("gelu_new" or "gelu_pytorch_tanh" or "gelu"))
            throw new ModelConfigException($"{directory}/config.json: activation_function '{c.Activation}' is not supported (gelu_new, gelu_pytorch_tanh, gelu).");
        using var ckpt = SafetensorsCheckpoint.Open(directory);
        string prefix = ckpt.Contains("transformer.wte.weight") ? "transformer." : "";
        Tensor W(string name, params int[] shape) => ckpt.LoadWeight(prefix + name, shape);
        int d = c.HiddenSize, m = c.IntermediateSize;
        var wte = W("wte.weight", c.VocabSize, d);
        var wpe = W("wpe.weight", c.MaxPositions, d);
        var blocks = new Block[c.Layers];
        for (int i = 0; i < c.Layers; i++)
        {
            string h = $"h.{i}.";
            var cAttnW = W(h + "attn.c_attn.weight", d, 3 * d);
            var cAttnB = W(h + "attn.c_attn.bias", 3 * d);
            blocks[i] = new Block(W(h + "ln_1.weight", d), W(h + "ln_1.bias", d),
                Columns(cAttnW, 0, d), cAttnB.View([d], 0), Columns(cAttnW, d, d), cAttnB.View([d], d), Columns(cAttnW, 2 * d, d), cAttnB.View([d], 2 * d),
                W(h + "attn.c_proj.weight", d, d), W(h + "attn.c_proj.bias", d), W(h + "ln_2.weight", d), W(h + "ln_2.bias", d),
                W(h + "mlp.c_fc.weight", d, m), W(h + "mlp.c_fc.bias", m), W(h + "mlp.c_proj.weight", m, d), W(h + "mlp.c_proj.bias", d));
        }
        return new Gpt2Model(c, wte, wpe, blocks, W("ln_f.weight", d), W("ln_f.bias", d));
    }

    /// <summary>Columns [start, start+count) of a [rows, cols] matrix, as a new contiguous [rows, count] tensor.</summary>
    static Tensor Columns(Tensor w, int start, int count)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        var r = Tensor.ZerosOnHeap(rows, count);
        var src = w.Span; var dst = r.Span;
        for (int i = 0; i < rows; i++) src.Slice(i * cols + start, count).CopyTo(dst.Slice(i * count, count));
        return r;
    }

    // ids: B·T token ids -> logits [B, T, V]
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int seq, KvCache? cache = null, int[]? attentionMask = null)
    {
        var c = Config;
        if (ids.Length != batch * seq) throw new ArgumentException($"Forward: {ids.Length} ids for batch {batch} × sequence {seq}.");
        int past = cache?.Length ?? 0;
        if (past + seq > c.MaxPositions) throw new ArgumentException($"Forward: {past} cached + {seq} new tokens exceed n_positions {c.MaxPositions}.");
        var positions = PositionIds.For(batch, seq, past, attentionMask);
        var x = F.Add(F.Embedding(_wte, ids, batch, seq), F.Embedding(_wpe, positions, batch, seq));
        float eps = (float)c.NormEps;
        for (int li = 0; li < _blocks.Length; li++)
        {
            var b = _blocks[li];
            var a = F.LayerNorm(x, b.Ln1W, b.Ln1B, eps);
            var k = F.Linear(a, b.Wk, b.Bk, weightInOut: true);
            var v = F.Linear(a, b.Wv, b.Bv, weightInOut: true);
            if (cache is not null) (k, v) = cache.Append(li, k, v);
            var att = F.Attention(F.Linear(a, b.Wq, b.Bq, weightInOut: true), k, v, c.Heads, c.Heads, mask: attentionMask);
            x = F.Add(x, F.Linear(att, b.WProj, b.BProj, weightInOut: true));
            var mlp = F.LayerNorm(x, b.Ln2W, b.Ln2B, eps);
            var act = F.Gelu(F.Linear(mlp, b.WFc, b.BFc, weightInOut: true), approximateTanh: c.Activation != "gelu");
            x = F.Add(x, F.Linear(act, b.WOut, b.BOut, weightInOut: true));
        }
        cache?.Advance(seq);
        x = F.LayerNorm(x, _lnfW, _lnfB, eps);
        return F.Linear(x, _wte);   // tied head: wte is [V, D], PyTorch Linear layout
    }
}
