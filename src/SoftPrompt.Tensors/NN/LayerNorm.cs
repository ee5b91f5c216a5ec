using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>LayerNorm over the last dimension with a learned scale (ones) and shift (zeros).</summary>
public sealed class LayerNorm : Module
{
    public float Eps { get; }
    public Tensor Weight { get; }   // [dim]
    public Tensor Bias { get; }     // [dim]

    public LayerNorm(int dim, float eps = 1e-5f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        Eps = eps;
        Weight = RegisterParameter("weight", Init.Ones(NewParameter(dim)));
        Bias = RegisterParameter("bias", NewParameter(dim));
    }

    // x: [.., dim] -> [.., dim]
    public Tensor Forward(Tensor x) => Functional.LayerNorm(x, Weight, Bias, Eps);
}
