using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>RMSNorm over the last dimension with a learned scale (ones): y = x / √(mean(x²) + eps) · w.</summary>
public sealed class RmsNorm : Module
{
    public float Eps { get; }
    public Tensor Weight { get; }   // [dim]

    public RmsNorm(int dim, float eps = 1e-6f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        Eps = eps;
        Weight = RegisterParameter("weight", Init.Ones(NewParameter(dim)));
    }

    // x: [.., dim] -> [.., dim]
    public Tensor Forward(Tensor x) => Functional.RmsNorm(x, Weight, Eps);
}
