namespace SoftPrompt.Tuning.Methods.FullFineTuning;

/// <summary>
/// Full fine-tuning, the upper baseline: every parameter of the model trains — each linear layer's weight as
/// W + ΔW with ΔW at full rank, and the embeddings, norms, biases and an untied head as p + Δp — as a Hugging
/// Face Trainer fine-tuning the whole model does. TargetModules (LoRA's names) limits training to those linear
/// layers' weights (["c_attn", "c_proj", "c_fc"]: every GPT-2 linear weight and nothing else).
/// Weight decay shrinks the fine-tuned matrices (W + ΔW, embeddings, head) toward zero and leaves biases and norm
/// weights alone, as a Hugging Face Trainer does; DecayEmbeddings false spares the embedding tables too, as minGPT's
/// optimizer (Petrov et al.'s code) does. DecayTowardPretrained shrinks the deltas instead, i.e. pulls toward the
/// pretrained weights.
/// </summary>
public sealed record FullFineTuningConfig(IReadOnlyList<string>? TargetModules = null, bool DecayTowardPretrained = false, bool DecayEmbeddings = true);
