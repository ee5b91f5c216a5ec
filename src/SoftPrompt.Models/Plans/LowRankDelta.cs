using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// A low-rank update of one named linear layer (LoRA): y += Scale · (dropout(x) · Aᵀ) · Bᵀ, with
/// A: [r, in] and B: [out, r] in PyTorch's Linear layout, so PEFT's lora_A / lora_B load as they are.
/// Module is the layer's Hugging Face module path, e.g. "transformer.h.0.attn.c_attn" or
/// "model.layers.3.self_attn.q_proj" (see ICausalLanguageModel.LinearLayers).
/// </summary>
public sealed record LowRankDelta(string Module, Tensor A, Tensor B, float Scale, float Dropout = 0f)
{
    public int Rank => A.Shape[0];
}
