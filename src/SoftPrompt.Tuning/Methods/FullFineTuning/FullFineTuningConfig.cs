namespace SoftPrompt.Tuning.Methods.FullFineTuning;

/// <summary>
/// Full fine-tuning of the model's linear layers (every attention and MLP projection, or those named
/// in TargetModules as LoRA names them), the upper baseline: each layer's weight becomes W + ΔW with
/// ΔW trained at full rank. Embeddings, biases and norms stay frozen.
/// Weight decay shrinks the fine-tuned weight W + ΔW toward zero, as a Hugging Face Trainer fine-tuning W
/// does; DecayTowardPretrained shrinks ΔW instead, i.e. pulls toward the pretrained weights.
/// </summary>
public sealed record FullFineTuningConfig(IReadOnlyList<string>? TargetModules = null, bool DecayTowardPretrained = false);
