using SoftPrompt.Tuning.Methods.PrefixTuning;

namespace SoftPrompt.Tuning.Methods.DeepPrompt;

/// <summary>
/// Deep prompts (P-tuning v2): free key/value prefixes at every layer, no reparametrisation (PEFT's
/// PREFIX_TUNING with prefix_projection=False), optionally with a classification head over the last
/// position's hidden state instead of verbalizer scoring (NumLabels > 0).
/// </summary>
public sealed record DeepPromptConfig(int NumVirtualTokens = 20, PrefixInit Init = PrefixInit.Random, string? InitText = null, int NumLabels = 0);
