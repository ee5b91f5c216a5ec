using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// An update of one named linear layer. Low rank (LoRA): y += Scale · (dropout(x) · Aᵀ) · Bᵀ, with
/// A: [r, in] and B: [out, r] in PyTorch's Linear layout, so PEFT's lora_A / lora_B load as they are.
/// Dense (B null): y += Scale · dropout(x) · Aᵀ with A: [out, in] — a full-rank change of the weight,
/// which is what fine-tuning that layer does. Module is the layer's Hugging Face module path, e.g.
/// "transformer.h.0.attn.c_attn" or "model.layers.3.self_attn.q_proj" (see ICausalLanguageModel.LinearLayers).
/// </summary>
public sealed record LowRankDelta(string Module, Tensor A, Tensor? B, float Scale, float Dropout = 0f)
{
    /// <summary>A full-rank update ΔW [out, in] of the layer's weight.</summary>
    public static LowRankDelta Dense(string module, Tensor deltaWeight, float scale = 1f) => new(module, deltaWeight, null, scale);

    public bool IsDense => B is null;

    public int Rank => IsDense ? Math.Min(A.Shape[0], A.Shape[1]) : A.Shape[0];
}
