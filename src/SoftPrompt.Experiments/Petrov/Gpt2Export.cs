using System.Text.Json;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// Writes a <see cref="MinGpt"/> as a Hugging Face GPT-2 checkpoint directory (config.json +
/// model.safetensors, float32) with HF's key names: "transformer." + wte, wpe, h.{i}.*, ln_f; Linear
/// weights transposed into Conv1D's [in, out] layout (c_attn's columns are q|k|v because our c_attn
/// rows are); an untied head as "lm_head.weight" [V, d] (HF's Linear layout) with
/// "tie_word_embeddings": false. activation_function is "gelu_new" (GELU, tanh form); the dropouts are
/// pretraining's (embeddings, residuals and attention probabilities alike). The prefix padding P the model was
/// pretrained with is <c>"softprompt_prefix_padding"</c>: every prompt for it starts with P zero tokens.
/// <para>Setup 2's blocks have no first LayerNorm: written with <c>"softprompt_skip_ln_1": true</c> and no
/// ln_1 tensors, which <c>Gpt2Model</c> reads (an identity ln_1 would not be equivalent: LayerNorm
/// normalises). The untied head is written as HF writes it and <c>Gpt2Model</c> uses it.</para>
/// </summary>
public static class Gpt2Export
{
    /// <summary>The config.json flag of a checkpoint whose blocks have no ln_1 (attention reads the residual stream).</summary>
    public const string SkipLn1Flag = "softprompt_skip_ln_1";

    /// <summary>The config.json field that records how many pretraining steps the checkpoint had (absent: the authors' count).</summary>
    public const string PretrainStepsField = "softprompt_pretrain_steps";

    /// <summary>The config.json field with the number of zero pad tokens every sequence started with in pretraining (absent: 0).</summary>
    public const string PrefixPaddingField = "softprompt_prefix_padding";

    /// <summary>The prefix padding recorded in <paramref name="directory"/>'s config.json (0 when absent or when there is no config.json).</summary>
    public static int PrefixPadding(string directory)
    {
        string path = Path.Combine(directory, "config.json");
        if (!File.Exists(path)) return 0;
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?[PrefixPaddingField];
        try { return node is null ? 0 : node.GetValue<int>(); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new DataFormatException($"{path}: {PrefixPaddingField} must be a whole number, got {node!.ToJsonString()}.");
        }
    }

    public static void Write(MinGpt model, string directory, long? pretrainSteps = null)
    {
        var c = model.Config;
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, "model.safetensors"), tmp => SafetensorsWriter.Write(tmp, Tensors(model),
            new Dictionary<string, string> { ["format"] = "pt" }));
        var config = new Dictionary<string, object>
        {
            ["model_type"] = "gpt2",
            ["architectures"] = new[] { "GPT2LMHeadModel" },
            ["vocab_size"] = c.VocabSize,
            ["n_positions"] = c.MaxPositions,
            ["n_ctx"] = c.MaxPositions,
            ["n_embd"] = c.Dim,
            ["n_layer"] = c.Layers,
            ["n_head"] = c.Heads,
            ["n_inner"] = c.MlpDim,
            ["activation_function"] = "gelu_new",
            ["layer_norm_epsilon"] = 1e-5,
            ["embd_pdrop"] = c.Dropout,
            ["resid_pdrop"] = c.Dropout,
            ["attn_pdrop"] = c.Dropout,
            ["tie_word_embeddings"] = c.TiedHead,
            [SkipLn1Flag] = !c.FirstLayerNorm,
            [PrefixPaddingField] = c.PrefixPadding,
            ["torch_dtype"] = "float32",
        };
        if (pretrainSteps is { } steps) config[PretrainStepsField] = steps;
        AtomicFile.WriteAllText(Path.Combine(directory, "config.json"), JsonSerializer.Serialize(config, new JsonSerializerOptions { WriteIndented = true }));
        if (c.VocabSize == DigitSequences.VocabSize) AtomicFile.WriteAllText(Path.Combine(directory, DigitTokenizerJson.FileName), DigitTokenizerJson.Text);   // the synthetic tasks' digits
    }

    /// <summary>HF names and tensors, in GPT2LMHeadModel's order; Linear weights [out, in] become Conv1D [in, out].</summary>
    static IEnumerable<KeyValuePair<string, Tensor>> Tensors(MinGpt model)
    {
        const string t = "transformer.";
        yield return new(t + "wte.weight", model.Wte.Weight);
        yield return new(t + "wpe.weight", model.Wpe.Weight);
        for (int i = 0; i < model.H.Count; i++)
        {
            var b = model.H[i];
            string h = $"{t}h.{i}.";
            if (b.Ln1 is { } ln1)
            {
                yield return new(h + "ln_1.weight", ln1.Weight);
                yield return new(h + "ln_1.bias", ln1.Bias);
            }
            yield return new(h + "attn.c_attn.weight", Transpose(b.Attn.CAttn.Weight));
            yield return new(h + "attn.c_attn.bias", b.Attn.CAttn.Bias!);
            yield return new(h + "attn.c_proj.weight", Transpose(b.Attn.CProj.Weight));
            yield return new(h + "attn.c_proj.bias", b.Attn.CProj.Bias!);
            yield return new(h + "ln_2.weight", b.Ln2.Weight);
            yield return new(h + "ln_2.bias", b.Ln2.Bias);
            yield return new(h + "mlp.c_fc.weight", Transpose(b.Mlp.CFc.Weight));
            yield return new(h + "mlp.c_fc.bias", b.Mlp.CFc.Bias!);
            yield return new(h + "mlp.c_proj.weight", Transpose(b.Mlp.CProj.Weight));
            yield return new(h + "mlp.c_proj.bias", b.Mlp.CProj.Bias!);
        }
        yield return new(t + "ln_f.weight", model.LnF.Weight);
        yield return new(t + "ln_f.bias", model.LnF.Bias);
        if (model.LmHead is { } head) yield return new("lm_head.weight", head.Weight);
    }

    // w: [out, in] -> [in, out] (a heap copy)
    static Tensor Transpose(Tensor w)
    {
        int rows = w.Shape[0], cols = w.Shape[1];
        var y = Tensor.ZerosOnHeap(cols, rows);
        ReadOnlySpan<float> src = w.Span;
        var dst = y.Span;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
        return y;
    }
}
