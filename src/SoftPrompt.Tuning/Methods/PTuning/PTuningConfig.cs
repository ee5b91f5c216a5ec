namespace SoftPrompt.Tuning.Methods.PTuning;

/// <summary>PEFT's encoder_reparameterization_type.</summary>
public enum PromptEncoderType { Mlp, Lstm }

/// <summary>
/// P-tuning (Liu et al.): N virtual tokens produced by a prompt encoder over trainable inputs —
/// an MLP, or a bidirectional LSTM (EncoderNumLayers layers) followed by an MLP, as PEFT's
/// PromptEncoder builds them; EncoderHiddenSize 0 means the model's hidden size (PEFT's default).
/// The template places the tokens anywhere (e.g. 3+3+3 around anchor words). MLP is PEFT's default.
/// </summary>
public sealed record PTuningConfig(int NumVirtualTokens = 20, PromptEncoderType EncoderType = PromptEncoderType.Mlp, int EncoderHiddenSize = 0,
    int EncoderNumLayers = 2, float EncoderDropout = 0f);
