using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>
/// Linear → activation → dropout → Linear → … → Linear: <c>dims</c> = [in, hidden…, out] gives
/// dims.Length − 1 Linear layers (named <c>layers.0</c>, <c>layers.1</c>, …) and no activation after the last.
/// Dropout (training mode only) follows each hidden activation.
/// </summary>
public sealed class Mlp : Module
{
    readonly Rng _dropoutRng;

    public ModuleList<Linear> Layers { get; }
    public Functional.Activation Activation { get; }
    public float Dropout { get; }

    /// <param name="rng">Initialises the layers, and afterwards draws the dropout masks (save its state to resume exactly).</param>
    public Mlp(int[] dims, Functional.Activation activation, Rng rng, float dropout = 0f)
    {
        if (dims.Length < 2) throw new ArgumentException($"Mlp needs at least [in, out] dimensions, got {dims.Length}.", nameof(dims));
        if (dropout < 0f || dropout >= 1f) throw new ArgumentOutOfRangeException(nameof(dropout), $"Dropout probability must be in [0, 1), got {dropout}.");
        Activation = activation;
        Dropout = dropout;
        _dropoutRng = rng;
        Layers = RegisterModule("layers", new ModuleList<Linear>(
            Enumerable.Range(0, dims.Length - 1).Select(i => new Linear(dims[i], dims[i + 1], rng))));
    }

    // x: [.., dims[0]] -> [.., dims[^1]]
    public Tensor Forward(Tensor x)
    {
        for (int i = 0; i < Layers.Count; i++)
        {
            x = Layers[i].Forward(x);
            if (i == Layers.Count - 1) break;
            x = Functional.Activate(x, Activation);
            x = Functional.Dropout(x, Dropout, _dropoutRng, IsTraining);
        }
        return x;
    }
}
