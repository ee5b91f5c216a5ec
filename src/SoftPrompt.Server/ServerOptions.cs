namespace SoftPrompt.Server;

/// <summary>
/// The server's settings, bound from configuration section "SoftPrompt" (command line <c>--SoftPrompt:DataDir DIR</c>,
/// environment <c>SoftPrompt__DataDir</c>, or set in code). Paths come from the operator, never from a request.
/// </summary>
public sealed class ServerOptions
{
    public const string Section = "SoftPrompt";

    /// <summary>The frozen model: a Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json).</summary>
    public string? ModelDir { get; set; }

    /// <summary>The name clients use for the base model (default: the model directory's name).</summary>
    public string? ModelName { get; set; }

    /// <summary>A meta-trained PGM directory (pgm_config.json, pgm.safetensors) for method "metal".</summary>
    public string? PgmDir { get; set; }

    /// <summary>The store (softprompt.db) and the adapters (adapters/&lt;task id&gt;/).</summary>
    public string DataDir { get; set; } = "softprompt-data";

    /// <summary>Largest request body in bytes (Kestrel answers 413 above it).</summary>
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Most examples a task may be created from.</summary>
    public int MaxExamples { get; set; } = 256;

    /// <summary>Most characters of all examples' inputs and outputs together.</summary>
    public int MaxExampleChars { get; set; } = 200_000;

    /// <summary>Longest task name, in characters.</summary>
    public int MaxNameLength { get; set; } = 200;

    /// <summary>Most tokens a completion may ask for.</summary>
    public int MaxTokens { get; set; } = 1024;

    /// <summary>Longest completion prompt, in characters (token limits come from the model's context).</summary>
    public int MaxPromptChars { get; set; } = 100_000;

    /// <summary>Loaded adapters kept in memory (least recently used leave first).</summary>
    public int AdapterCacheSize { get; set; } = 64;

    /// <summary>Largest adapter archive POST /v1/adapters accepts, in bytes (413 above it).</summary>
    public long MaxAdapterBytes { get; set; } = 64L << 20;

    /// <summary>Most bytes an adapter archive may unpack to, all its files together (413 above it: a zip bomb stops here).</summary>
    public long MaxAdapterUnpackedBytes { get; set; } = 256L << 20;

    /// <summary>Vocabulary tokens shown per virtual token of a soft prompt (its nearest by cosine); 0 shows none.</summary>
    public int NearestTokens { get; set; } = 5;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelDir)) throw new ArgumentException("SoftPrompt:ModelDir (--model): a model directory is required (the shipped default model is not built yet).");
        if (string.IsNullOrWhiteSpace(DataDir)) throw new ArgumentException("SoftPrompt:DataDir (--data-dir) is empty.");
        if (MaxBodyBytes < 1024) throw new ArgumentException($"SoftPrompt:MaxBodyBytes must be ≥ 1024, got {MaxBodyBytes}.");
        foreach (var (name, v) in new[] { ("MaxExamples", MaxExamples), ("MaxExampleChars", MaxExampleChars), ("MaxNameLength", MaxNameLength), ("MaxTokens", MaxTokens), ("MaxPromptChars", MaxPromptChars), ("AdapterCacheSize", AdapterCacheSize) })
            if (v < 1) throw new ArgumentException($"SoftPrompt:{name} must be ≥ 1, got {v}.");
        if (MaxAdapterBytes < 1024) throw new ArgumentException($"SoftPrompt:MaxAdapterBytes must be ≥ 1024, got {MaxAdapterBytes}.");
        if (MaxAdapterUnpackedBytes < 1024) throw new ArgumentException($"SoftPrompt:MaxAdapterUnpackedBytes must be ≥ 1024, got {MaxAdapterUnpackedBytes}.");
        if (NearestTokens < 0) throw new ArgumentException($"SoftPrompt:NearestTokens must be ≥ 0, got {NearestTokens}.");
    }
}
