using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.MetaL;

/// <summary>
/// The prompt generation model: the frozen target LM seen through its own LoRA (LoraRank, LoraAlpha, LoraTargets:
/// PEFT's target_modules, null for PEFT's defaults) plus trainable padding, PadTokens (M) pad embeddings after the
/// demonstrations produced by a P-tuning encoder (PaddingEncoder MLP or BiLSTM + MLP, hidden PaddingHidden, 0: the
/// model's) over trainable inputs. GumbelTau: the discrete design's temperature while meta-training.
/// </summary>
public sealed record PgmConfig(PromptDesign Design, int PadTokens = 8, int LoraRank = 8, float LoraAlpha = 16f, IReadOnlyList<string>? LoraTargets = null,
    PromptEncoderType PaddingEncoder = PromptEncoderType.Mlp, int PaddingHidden = 0, float GumbelTau = 1f)
{
    public void Check()
    {
        if (PadTokens <= 0) throw new ArgumentException($"PGM: pad tokens (M) must be positive, got {PadTokens}.");
        if (LoraRank <= 0) throw new ArgumentException($"PGM: LoRA rank must be positive, got {LoraRank}.");
        if (!(GumbelTau > 0)) throw new ArgumentException($"PGM: the Gumbel-softmax temperature must be positive, got {GumbelTau}.");
    }
}
