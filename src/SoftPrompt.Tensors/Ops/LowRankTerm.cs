using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// A low-rank term a Linear adds to its own output: y += Scale · H · Bᵀ, with H: [rows, r] (a LoRA's x·Aᵀ) and
/// B: [OC, r] (PyTorch Linear layout). Inside the Linear the product accumulates into the output the GEMM just wrote,
/// and backward reads the output's gradient directly: no [rows, OC] delta, no Add, no gradient copies.
/// </summary>
public readonly record struct LowRankTerm(Tensor H, Tensor B, float Scale)
{
    internal void Check(int rows, int oc)
    {
        int r = B.Shape[^1];
        if (B.Rank != 2 || B.Shape[0] != oc || H.Size(-1) != r || H.Length != (long)rows * r)
            throw new ShapeMismatchException($"Linear: a low-rank term needs H [{rows}, r] and B [{oc}, r]; got {Tensor.Format(H.Shape)} and {Tensor.Format(B.Shape)}.");
    }

    // y[rows, OC] += Scale · H[rows, r] · Bᵀ
    internal void AddTo(Span<float> y, int rows, int oc)
    {
        int r = B.Shape[1];
        Sgemm.Multiply(false, true, rows, oc, r, H.Span, r, B.Span, r, y, oc, alpha: Scale, beta: 1f);
    }

    // dH[rows, r] (+)= Scale · dy · B;  dB[OC, r] += Scale · dyᵀ · H
    internal void Backward(ReadOnlySpan<float> dy, int rows, int oc)
    {
        int r = B.Shape[1];
        if (H.RequiresGrad)
        {
            var dh = H.GradSpanForWrite(out bool overwrite);
            Sgemm.Multiply(false, false, rows, r, oc, dy, oc, B.Span, r, dh, r, alpha: Scale, beta: overwrite ? 0f : 1f);
        }
        if (B.RequiresGrad) Sgemm.Multiply(true, false, oc, r, rows, dy, oc, H.Span, r, B.GradSpan(), r, alpha: Scale, beta: 1f);
    }
}
