namespace SoftPrompt.Models.Architectures;

/// <summary>A linear layer a low-rank delta can target, by its Hugging Face module path (PEFT's names).</summary>
public sealed record LinearLayerInfo(string Name, int InFeatures, int OutFeatures);
