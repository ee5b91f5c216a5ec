using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>Keeps only the positions whose outputs are wanted, before the final norm and the head.</summary>
static class OutputRows
{
    // x: [B, T, D], positions: N flat indices b·T + t -> [N, D]; x itself when positions is null
    public static Tensor Select(Tensor x, int[]? positions)
    {
        if (positions is null) return x;
        int d = x.Shape[^1];
        return F.IndexSelect(F.Reshape(x, x.Length / d, d), positions);
    }
}
