namespace SoftPrompt.Tuning.Methods.Lora;

/// <summary>
/// LoRA (Hu et al.), with PEFT's fields: rank R, LoraAlpha (scale alpha/r, or alpha/√r with
/// UseRslora), LoraDropout on the layer input, TargetModules matched like PEFT — a layer matches a
/// name when its module path equals it or ends with "." + it (e.g. "c_attn", "q_proj"), or, given
/// TargetRegex, when the regex matches the whole path.
/// </summary>
public sealed record LoraConfig(int R = 8, float LoraAlpha = 8f, float LoraDropout = 0f, IReadOnlyList<string>? TargetModules = null,
    string? TargetRegex = null, bool UseRslora = false)
{
    public float Scale => UseRslora ? LoraAlpha / MathF.Sqrt(R) : LoraAlpha / R;

    /// <summary>PEFT's defaults per architecture when no target is given (the attention query/value projections).</summary>
    public static IReadOnlyList<string> DefaultTargets(string modelType) => modelType switch
    {
        "gpt2" => ["c_attn"],
        _ => ["q_proj", "v_proj"],
    };
}
