using System.Text.Json;

namespace SoftPrompt.Models.Config;

/// <summary>The architecture families SoftPrompt runs.</summary>
public enum ArchitectureFamily { Gpt2, Llama }

/// <summary>HF <c>rope_scaling</c> (only what the Llama family uses).</summary>
public sealed record RopeScaling(string Type, double Factor, double? LowFreqFactor, double? HighFreqFactor, int? OriginalMaxPositionEmbeddings);

/// <summary>
/// The dropout probabilities a checkpoint trains with (Hugging Face's names: GPT-2's embd_pdrop, attn_pdrop,
/// resid_pdrop, 0.1 each when absent as in GPT2Config; the Llama family's attention_dropout, 0 when absent).
/// They act only in a training-mode forward pass (<see cref="Architectures.ForwardOptions.DropoutRng"/>).
/// </summary>
public sealed record ModelDropout(float Embedding, float Attention, float Residual)
{
    public static readonly ModelDropout None = new(0f, 0f, 0f);
}

/// <summary>
/// A Hugging Face <c>config.json</c>, normalised: GPT-2's names (n_embd, n_layer, …) and the Llama
/// family's (hidden_size, num_hidden_layers, …) map to one set of fields. Unknown model types and
/// missing or inconsistent fields are errors naming the file and the field.
/// </summary>
public sealed record ModelConfig(
    string ModelType, ArchitectureFamily Family, int VocabSize, int HiddenSize, int Layers, int Heads, int KvHeads,
    int IntermediateSize, int MaxPositions, double NormEps, bool TieWordEmbeddings, string Activation,
    double RopeTheta, RopeScaling? RopeScaling, bool AttentionBias, string? TorchDtype)
{
    public int HeadDim => HiddenSize / Heads;

    /// <summary>
    /// GPT-2 only: the blocks have no first LayerNorm (the attention reads the residual stream as it is),
    /// as one of Petrov et al.'s models; config.json's "softprompt_skip_ln_1" (not a Hugging Face field).
    /// </summary>
    public bool SkipAttentionNorm { get; init; }

    /// <summary>The dropouts of a training-mode forward pass (none in evaluation mode, the default).</summary>
    public ModelDropout Dropout { get; init; } = ModelDropout.None;

    static readonly string[] LlamaTypes = ["llama", "mistral", "qwen2"];

    public static ModelConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ModelConfigException($"{path}: file not found.");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new ModelConfigException($"{path}: not valid JSON ({e.Message})."); }
        using (doc) return Parse(path, doc.RootElement);
    }

    static ModelConfig Parse(string path, JsonElement r)
    {
        string type = Str(path, r, "model_type") ?? throw new ModelConfigException($"{path}: field 'model_type' is missing.");
        string? dtype = Str(path, r, "torch_dtype") ?? Str(path, r, "dtype");
        if (type == "gpt2")
        {
            int d = Int(path, r, "n_embd");
            int heads = Int(path, r, "n_head");
            return Validate(path, new ModelConfig(type, ArchitectureFamily.Gpt2, Int(path, r, "vocab_size"), d, Int(path, r, "n_layer"), heads, heads,
                OptInt(path, r, "n_inner") ?? 4 * d, Int(path, r, "n_positions"), OptDouble(path, r, "layer_norm_epsilon") ?? 1e-5,
                OptBool(path, r, "tie_word_embeddings") ?? true, Str(path, r, "activation_function") ?? "gelu_new", 0, null, true, dtype)
                {
                    SkipAttentionNorm = OptBool(path, r, "softprompt_skip_ln_1") ?? false,
                    Dropout = new(Probability(path, r, "embd_pdrop", 0.1), Probability(path, r, "attn_pdrop", 0.1), Probability(path, r, "resid_pdrop", 0.1)),
                });
        }
        if (!LlamaTypes.Contains(type))
            throw new ModelConfigException($"{path}: model_type '{type}' is not supported (supported: gpt2, {string.Join(", ", LlamaTypes)}).");
        int heads2 = Int(path, r, "num_attention_heads");
        return Validate(path, new ModelConfig(type, ArchitectureFamily.Llama, Int(path, r, "vocab_size"), Int(path, r, "hidden_size"),
            Int(path, r, "num_hidden_layers"), heads2, OptInt(path, r, "num_key_value_heads") ?? heads2, Int(path, r, "intermediate_size"),
            Int(path, r, "max_position_embeddings"), OptDouble(path, r, "rms_norm_eps") ?? 1e-6, OptBool(path, r, "tie_word_embeddings") ?? false,
            Str(path, r, "hidden_act") ?? "silu", OptDouble(path, r, "rope_theta") ?? 10000.0, Scaling(path, r),
            OptBool(path, r, "attention_bias") ?? type == "qwen2", dtype) { Dropout = new(0f, Probability(path, r, "attention_dropout", 0.0), 0f) });
    }

    static ModelConfig Validate(string path, ModelConfig c)
    {
        void Positive(string field, int v) { if (v <= 0) throw new ModelConfigException($"{path}: field '{field}' must be positive, got {v}."); }
        Positive("vocab_size", c.VocabSize); Positive("hidden size", c.HiddenSize); Positive("layers", c.Layers);
        Positive("heads", c.Heads); Positive("key/value heads", c.KvHeads); Positive("intermediate size", c.IntermediateSize); Positive("max positions", c.MaxPositions);
        if (c.HiddenSize % c.Heads != 0) throw new ModelConfigException($"{path}: hidden size {c.HiddenSize} is not divisible by {c.Heads} attention heads.");
        if (c.Heads % c.KvHeads != 0) throw new ModelConfigException($"{path}: {c.Heads} attention heads cannot be grouped over num_key_value_heads = {c.KvHeads}.");
        return c;
    }

    /// <summary>A dropout probability field: a number in [0, 1), or the default when absent.</summary>
    static float Probability(string path, JsonElement r, string f, double absent)
    {
        double p = OptDouble(path, r, f) ?? absent;
        if (p is < 0 or >= 1) throw new ModelConfigException($"{path}: field '{f}' must be a probability in [0, 1), got {p}.");
        return (float)p;
    }

    static RopeScaling? Scaling(string path, JsonElement r)
    {
        if (!r.TryGetProperty("rope_scaling", out var s) || s.ValueKind == JsonValueKind.Null) return null;
        if (s.ValueKind != JsonValueKind.Object) throw new ModelConfigException($"{path}: field 'rope_scaling' must be an object or null.");
        string type = Str(path, s, "rope_type") ?? Str(path, s, "type") ?? throw new ModelConfigException($"{path}: field 'rope_scaling.rope_type' is missing.");
        if (type is not ("llama3" or "linear" or "default"))
            throw new ModelConfigException($"{path}: rope_scaling type '{type}' is not supported (supported: llama3, linear, default).");
        return new RopeScaling(type, OptDouble(path, s, "factor") ?? 1.0, OptDouble(path, s, "low_freq_factor"), OptDouble(path, s, "high_freq_factor"),
            OptInt(path, s, "original_max_position_embeddings"));
    }

    static string? Str(string path, JsonElement r, string f) =>
        !r.TryGetProperty(f, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.String ? v.GetString() : throw new ModelConfigException($"{path}: field '{f}' must be a string, got {v}.");

    static int Int(string path, JsonElement r, string f) => OptInt(path, r, f) ?? throw new ModelConfigException($"{path}: field '{f}' is missing.");

    static int? OptInt(string path, JsonElement r, string f) =>
        !r.TryGetProperty(f, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw new ModelConfigException($"{path}: field '{f}' must be an integer, got {v}.");

    static double? OptDouble(string path, JsonElement r, string f) =>
        !r.TryGetProperty(f, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) ? d : throw new ModelConfigException($"{path}: field '{f}' must be a number, got {v}.");

    static bool? OptBool(string path, JsonElement r, string f) =>
        !r.TryGetProperty(f, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw new ModelConfigException($"{path}: field '{f}' must be true or false, got {v}.");
}

/// <summary>A config.json is missing, malformed or describes something SoftPrompt cannot run; the message names the file and field.</summary>
public sealed class ModelConfigException(string message) : Exception(message);
