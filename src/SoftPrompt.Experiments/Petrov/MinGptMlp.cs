using SoftPrompt.Tensors;
using SoftPrompt.Tensors.NN;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>GPT-2's MLP: c_fc (d → 4d), GELU in tanh form (minGPT's NewGELU, HF's gelu_new), c_proj (4d → d).</summary>
public sealed class MinGptMlp : Module
{
    public Linear CFc { get; }     // weight [4d, d]
    public Linear CProj { get; }   // weight [d, 4d]

    public MinGptMlp(int dim, int hidden, Rng rng)
    {
        CFc = RegisterModule("c_fc", new Linear(dim, hidden, rng));
        CProj = RegisterModule("c_proj", new Linear(hidden, dim, rng));
    }

    // x: [B, T, d] -> [B, T, d]
    public Tensor Forward(Tensor x) => CProj.Forward(F.Gelu(CFc.Forward(x), approximateTanh: true));
}
