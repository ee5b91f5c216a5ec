using System.Globalization;
using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>
/// A (multi-layer, optionally bidirectional) LSTM, batch-first, zero initial state, with PyTorch's
/// parameter names, shapes and initialisation: <c>weight_ih_l{k}</c> [4H, I_k], <c>weight_hh_l{k}</c> [4H, H],
/// <c>bias_ih_l{k}</c>, <c>bias_hh_l{k}</c> [4H], suffixed <c>_reverse</c> for the backward direction,
/// all U(-1/√H, 1/√H). Layer k &gt; 0 reads the previous layer's [B, T, D·H] output; dropout is applied
/// between layers (not after the last) in training mode.
/// </summary>
public sealed class Lstm : Module
{
    readonly Rng _dropoutRng;
    readonly Tensor[][] _weights;   // [layer·D + direction] -> { w_ih, w_hh, b_ih?, b_hh? }

    public int InputSize { get; }
    public int HiddenSize { get; }
    public int NumLayers { get; }
    public bool Bidirectional { get; }
    public float Dropout { get; }

    /// <param name="rng">Initialises the weights, and afterwards draws the inter-layer dropout masks.</param>
    public Lstm(int inputSize, int hiddenSize, Rng rng, int numLayers = 1, bool bidirectional = false, float dropout = 0f, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numLayers);
        if (dropout < 0f || dropout >= 1f) throw new ArgumentOutOfRangeException(nameof(dropout), $"Dropout probability must be in [0, 1), got {dropout}.");
        InputSize = inputSize; HiddenSize = hiddenSize; NumLayers = numLayers; Bidirectional = bidirectional; Dropout = dropout;
        _dropoutRng = rng;
        int dirs = bidirectional ? 2 : 1, g4 = 4 * hiddenSize;
        float bound = 1f / MathF.Sqrt(hiddenSize);
        _weights = new Tensor[numLayers * dirs][];
        // Registration (and initialisation) order is PyTorch's _flat_weights order.
        for (int layer = 0; layer < numLayers; layer++)
        {
            int layerIn = layer == 0 ? inputSize : dirs * hiddenSize;
            for (int dir = 0; dir < dirs; dir++)
            {
                string suffix = "_l" + layer.ToString(CultureInfo.InvariantCulture) + (dir == 1 ? "_reverse" : "");
                var w = new List<Tensor>
                {
                    RegisterParameter("weight_ih" + suffix, Init.Uniform(NewParameter(g4, layerIn), rng, -bound, bound)),
                    RegisterParameter("weight_hh" + suffix, Init.Uniform(NewParameter(g4, hiddenSize), rng, -bound, bound)),
                };
                if (bias)
                {
                    w.Add(RegisterParameter("bias_ih" + suffix, Init.Uniform(NewParameter(g4), rng, -bound, bound)));
                    w.Add(RegisterParameter("bias_hh" + suffix, Init.Uniform(NewParameter(g4), rng, -bound, bound)));
                }
                _weights[layer * dirs + dir] = w.ToArray();
            }
        }
    }

    // x: [B, T, I] -> [B, T, D·H]
    public Tensor Forward(Tensor x)
    {
        if (x.Rank != 3 || x.Shape[2] != InputSize)
            throw new ShapeMismatchException($"Lstm: input must be [B, T, {InputSize}] (batch first), got {Tensor.Format(x.Shape)}.");
        int dirs = Bidirectional ? 2 : 1;
        for (int layer = 0; layer < NumLayers; layer++)
        {
            if (layer > 0) x = Functional.Dropout(x, Dropout, _dropoutRng, IsTraining);
            var forward = Direction(x, layer * dirs, reverse: false);
            x = dirs == 1 ? forward : Functional.Concat([forward, Direction(x, layer * dirs + 1, reverse: true)], -1);
        }
        return x;
    }

    Tensor Direction(Tensor x, int index, bool reverse)
    {
        var w = _weights[index];
        return w.Length == 4
            ? Functional.LstmLayer(x, w[0], w[1], w[2], w[3], reverse)
            : Functional.LstmLayer(x, w[0], w[1], null, null, reverse);
    }
}
