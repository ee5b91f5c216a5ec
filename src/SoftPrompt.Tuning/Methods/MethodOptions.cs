namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// The settings any method may read when it is created (the CLI's method flags, or a program's); each method's
/// definition reads the ones it has and turns them into its config record. Defaults are the CLI's.
/// </summary>
public sealed record MethodOptions
{
    /// <summary>Virtual tokens (prompt, ptuning), prefix length (prefix, deep, attn-prefix).</summary>
    public int VirtualTokens { get; init; } = 20;

    /// <summary>prompt: random | vocab | text | labels; prefix, deep: random | word | zero.</summary>
    public string Init { get; init; } = "random";

    /// <summary>Text for init text (prompt) or word (prefix, deep).</summary>
    public string? InitText { get; init; }

    /// <summary>The class-label words (prompt's labels init), each with its leading space.</summary>
    public IReadOnlyList<string>? LabelWords { get; init; }

    /// <summary>ptuning: mlp | lstm.</summary>
    public string Encoder { get; init; } = "mlp";

    /// <summary>Hidden size of the P-tuning encoder or the prefix reparametrisation; 0: the method's default.</summary>
    public int EncoderHidden { get; init; }

    public int LoraRank { get; init; } = 8;
    public float LoraAlpha { get; init; } = 16f;
    public float LoraDropout { get; init; }

    /// <summary>LoRA's target_modules; full: only these layers' weights train (null: every parameter).</summary>
    public IReadOnlyList<string>? TargetModules { get; init; }

    /// <summary>deep: labels of a classification head on the last position (0: score label words instead).</summary>
    public int HeadLabels { get; init; }

    /// <summary>full: decay the embedding tables too (a Hugging Face Trainer does; minGPT does not).</summary>
    public bool DecayEmbeddings { get; init; } = true;

    /// <summary>Text → token ids, for the inits that embed text.</summary>
    public Func<string, int[]>? Encode { get; init; }

    internal Func<string, int[]> EncodeOrThrow(string method) =>
        Encode ?? throw new ArgumentException($"{method}: init '{Init}' needs a tokenizer to encode its text.");
}
