using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>
/// y = x·Wᵀ + b with PyTorch's layout (weight [out, in]) and default initialisation:
/// kaiming_uniform(a = √5) for the weight, i.e. U(-1/√in, 1/√in), and the same bound for the bias.
/// </summary>
public sealed class Linear : Module
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Tensor Weight { get; }   // [out, in]
    public Tensor? Bias { get; }    // [out]

    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = RegisterParameter("weight", Init.KaimingUniform(NewParameter(outFeatures, inFeatures), rng, a: Math.Sqrt(5.0)));
        if (bias)
        {
            float bound = 1f / MathF.Sqrt(inFeatures);
            Bias = RegisterParameter("bias", Init.Uniform(NewParameter(outFeatures), rng, -bound, bound));
        }
    }

    // x: [.., in] -> [.., out]
    public Tensor Forward(Tensor x) => Functional.Linear(x, Weight, Bias);
}
