using System.Text.Json.Serialization;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// The size and variant of a minGPT-style model (the authors' models): pre-LayerNorm GPT-2 blocks,
/// learned positions, GELU (tanh form, minGPT's NewGELU), MLP width 4·d.
/// <para><see cref="FirstLayerNorm"/> false drops each block's ln_1 (setup 2): attention reads the residual stream directly.</para>
/// <para><see cref="TiedHead"/> false (minGPT's and the authors' choice) gives a separate lm_head [V, d] without bias;
/// true reuses wte as GPT-2 does.</para>
/// <para><see cref="PrefixPadding"/> P (the authors' prefix_padding): every sequence starts with P zero tokens at positions 0…P-1,
/// in pretraining as in every adaptation, so the text sits at positions P… and a P-vector prefix later replaces those slots —
/// the model has always seen something there (without them an N(0, 1) prefix lands on positions the model never attended to).</para>
/// <para><see cref="MaxPositions"/> P + 20 covers a whole example after its pads (the shared Trainer feeds all 20 tokens and scores the answer from the logits before each answer token).</para>
/// </summary>
public sealed record MinGptConfig(
    [property: JsonPropertyName("n_layer")] int Layers,
    [property: JsonPropertyName("n_head")] int Heads,
    [property: JsonPropertyName("n_embd")] int Dim,
    [property: JsonPropertyName("vocab_size")] int VocabSize = DigitSequences.VocabSize,
    [property: JsonPropertyName("n_positions")] int MaxPositions = PetrovExample.TotalLength,
    [property: JsonPropertyName("dropout")] float Dropout = 0.1f,
    [property: JsonPropertyName("first_layer_norm")] bool FirstLayerNorm = true,
    [property: JsonPropertyName("tied_head")] bool TiedHead = false,
    [property: JsonPropertyName("prefix_padding")] int PrefixPadding = 0)
{
    public int HeadDim => Dim / Heads;
    public int MlpDim => 4 * Dim;

    /// <summary>
    /// The paper's model for setup 1–4: 1 layer/1 head/d=96 and 1/4/256 without ln_1, both P = 1; 4/4/256 with P = 10 (setup 3)
    /// or 12 (setup 4): the authors pretrain with their prefix's padding, so the two setups' models differ in it.
    /// </summary>
    public static MinGptConfig ForSetup(int setup) => setup switch
    {
        1 => Padded(new MinGptConfig(1, 1, 96), 1),
        2 => Padded(new MinGptConfig(1, 4, 256, FirstLayerNorm: false), 1),
        3 => Padded(new MinGptConfig(4, 4, 256), 10),
        4 => Padded(new MinGptConfig(4, 4, 256), 12),
        _ => throw new ArgumentOutOfRangeException(nameof(setup), setup, "Petrov et al. have setups 1–4."),
    };

    /// <summary>This model with P leading pad positions and room for them (n_positions = P + 20).</summary>
    public static MinGptConfig Padded(MinGptConfig c, int padding) => c with { PrefixPadding = padding, MaxPositions = padding + PetrovExample.TotalLength };

    public void Validate()
    {
        if (Layers <= 0 || Heads <= 0 || Dim <= 0 || VocabSize <= 0 || MaxPositions <= 0)
            throw new ArgumentException($"MinGptConfig: sizes must be positive ({this}).");
        if (Dim % Heads != 0) throw new ArgumentException($"MinGptConfig: n_embd {Dim} is not divisible by n_head {Heads}.");
        if (PrefixPadding < 0 || PrefixPadding + PetrovExample.TotalLength - 1 > MaxPositions)
            throw new ArgumentException($"MinGptConfig: prefix padding {PrefixPadding} + {PetrovExample.TotalLength - 1} tokens do not fit n_positions {MaxPositions}.");
        if (Dropout < 0f || Dropout >= 1f) throw new ArgumentException($"MinGptConfig: dropout {Dropout} is outside [0, 1).");
    }
}
