namespace SoftPrompt.Models.Architectures;

/// <summary>A linear layer a low-rank delta can target, by its Hugging Face module path (PEFT's names).</summary>
public sealed record LinearLayerInfo(string Name, int InFeatures, int OutFeatures)
{
    /// <summary>A module path's last two parts, the layer's kind without its block ("transformer.h.0.attn.c_proj" → "attn.c_proj").</summary>
    public static string Kind(string modulePath) => modulePath[(modulePath.LastIndexOf('.', Math.Max(0, modulePath.LastIndexOf('.') - 1)) + 1)..];
}
