using System.Text.Json.Serialization;

namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// The size and variant of a minGPT-style model (the authors' models): pre-LayerNorm GPT-2 blocks,
/// learned positions, GELU (tanh form, minGPT's NewGELU), MLP width 4·d.
/// <para><see cref="FirstLayerNorm"/> false drops each block's ln_1 (setup 2): attention reads the residual stream directly.</para>
/// <para><see cref="TiedHead"/> false (minGPT's and the authors' choice) gives a separate lm_head [V, d] without bias;
/// true reuses wte as GPT-2 does.</para>
/// <para><see cref="MaxPositions"/> 20 covers the 19 tokens a training row feeds plus one spare, e.g. for a one-token prefix.</para>
/// </summary>
public sealed record MinGptConfig(
    [property: JsonPropertyName("n_layer")] int Layers,
    [property: JsonPropertyName("n_head")] int Heads,
    [property: JsonPropertyName("n_embd")] int Dim,
    [property: JsonPropertyName("vocab_size")] int VocabSize = DigitSequences.VocabSize,
    [property: JsonPropertyName("n_positions")] int MaxPositions = PetrovExample.TotalLength,
    [property: JsonPropertyName("dropout")] float Dropout = 0.1f,
    [property: JsonPropertyName("first_layer_norm")] bool FirstLayerNorm = true,
    [property: JsonPropertyName("tied_head")] bool TiedHead = false)
{
    public int HeadDim => Dim / Heads;
    public int MlpDim => 4 * Dim;

    /// <summary>The paper's model for setup 1–4: 1 layer/1 head/d=96; 1/4/256 without ln_1; 4/4/256 (3 and 4 share the model).</summary>
    public static MinGptConfig ForSetup(int setup) => setup switch
    {
        1 => new MinGptConfig(1, 1, 96),
        2 => new MinGptConfig(1, 4, 256, FirstLayerNorm: false),
        3 or 4 => new MinGptConfig(4, 4, 256),
        _ => throw new ArgumentOutOfRangeException(nameof(setup), setup, "Petrov et al. have setups 1–4."),
    };

    public void Validate()
    {
        if (Layers <= 0 || Heads <= 0 || Dim <= 0 || VocabSize <= 0 || MaxPositions <= 0)
            throw new ArgumentException($"MinGptConfig: sizes must be positive ({this}).");
        if (Dim % Heads != 0) throw new ArgumentException($"MinGptConfig: n_embd {Dim} is not divisible by n_head {Heads}.");
        if (Dropout < 0f || Dropout >= 1f) throw new ArgumentException($"MinGptConfig: dropout {Dropout} is outside [0, 1).");
    }
}
