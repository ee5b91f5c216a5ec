using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Methods;

/// <summary>
/// Linear → activation → Linear → … as PyTorch's nn.Sequential holds it: the linear layers are named
/// "0", "2", "4", … (the activations take the odd indices), so state keys read like PEFT's
/// ("transform.0.weight", "mlp_head.2.bias").
/// </summary>
public sealed class LinearStack : Module
{
    readonly Linear[] _layers;
    readonly F.Activation _activation;

    /// <param name="dims">[in, hidden…, out]: dims.Length − 1 linear layers.</param>
    public LinearStack(int[] dims, F.Activation activation, Rng rng)
    {
        if (dims.Length < 2) throw new ArgumentException($"LinearStack needs at least [in, out], got {dims.Length} sizes.");
        _activation = activation;
        _layers = new Linear[dims.Length - 1];
        for (int i = 0; i < _layers.Length; i++) _layers[i] = RegisterModule((2 * i).ToString(System.Globalization.CultureInfo.InvariantCulture), new Linear(dims[i], dims[i + 1], rng));
    }

    public IReadOnlyList<Linear> Layers => _layers;

    // x: [.., dims[0]] -> [.., dims[^1]]
    public Tensor Forward(Tensor x)
    {
        for (int i = 0; i < _layers.Length; i++)
        {
            x = _layers[i].Forward(x);
            if (i < _layers.Length - 1) x = F.Activate(x, _activation);
        }
        return x;
    }
}
