namespace SoftPrompt.Tuning.Methods.PrefixTuning;

/// <summary>How a prefix starts.</summary>
public enum PrefixInit
{
    /// <summary>PyTorch's defaults: the embedding N(0, 1), the projection's Linear layers Kaiming-uniform.</summary>
    Random,
    /// <summary>Li and Liang: the frozen model's activations (keys and values at every layer) of a real word or text.</summary>
    Word,
    /// <summary>All-zero prefix keys and values (the last projection zeroed).</summary>
    Zero,
}

/// <summary>
/// Prefix tuning (Li and Liang): N key/value prefixes at every layer, trained through the
/// reparametrisation Embedding(N, W) → Linear(W, h) → Tanh → Linear(h, 2·L·W), h = EncoderHiddenSize
/// (PEFT's prefix_projection=True; W is the key/value width). Saved as the projected prefix.
/// With Word init the projection is fitted to the word activations for InitFitSteps Adam steps (MSE).
/// </summary>
public sealed record PrefixTuningConfig(int NumVirtualTokens = 20, int EncoderHiddenSize = 512, PrefixInit Init = PrefixInit.Random,
    string? InitText = null, int InitFitSteps = 300);
