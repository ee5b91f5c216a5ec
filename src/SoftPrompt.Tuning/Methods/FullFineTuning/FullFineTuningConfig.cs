namespace SoftPrompt.Tuning.Methods.FullFineTuning;

/// <summary>
/// Full fine-tuning of the model's linear layers (every attention and MLP projection, or those named
/// in TargetModules as LoRA names them), the upper baseline: each layer's weight becomes W + ΔW with
/// ΔW trained at full rank. Embeddings and norms stay frozen. Weight decay acts on ΔW, i.e. pulls
/// toward the pretrained weights.
/// </summary>
public sealed record FullFineTuningConfig(IReadOnlyList<string>? TargetModules = null);
