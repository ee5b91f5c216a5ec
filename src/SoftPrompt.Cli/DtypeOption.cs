using System.CommandLine;
using SoftPrompt.Models.Safetensors;

namespace SoftPrompt.Cli;

/// <summary>
/// --dtype for the verbs that only run a frozen model (generate, eval, serve): hold its matrices as the checkpoint
/// stores them, as float32, or as bf16. bf16 halves the memory and the bytes a decoding step reads; compute stays
/// float32 (the weights are widened as they are read), so only the weights' rounding changes the output.
/// </summary>
internal static class DtypeOption
{
    public static Option<string> Create() => new("--dtype")
    {
        Description = "How to hold the model's matrices: as-stored (the checkpoint's dtype), f32, or bf16 (half the memory, faster decoding; weights rounded).",
        DefaultValueFactory = _ => "as-stored",
    };

    public static WeightStorage Parse(string value) => value.ToLowerInvariant() switch
    {
        "as-stored" => WeightStorage.AsStored,
        "f32" or "float32" => WeightStorage.Float32,
        "bf16" or "bfloat16" => WeightStorage.BFloat16,
        _ => throw new ArgumentException($"--dtype {value}: use as-stored, f32 or bf16."),
    };
}
