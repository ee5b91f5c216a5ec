using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Linear with a frozen weight that may be stored as bf16/f16 (widened inside the GEMM).</summary>
public static partial class Functional
{
    // x: [.., C], w: [OC, C] frozen (PyTorch layout; a tied LM head passes the [V, D] embedding table)
    //   or [C, OC] with weightInOut (GPT-2 Conv1D), bias: [OC] -> [.., OC]
    // An F32 weight takes the Tensor path unchanged. BF16/F16 weights are widened to float32 while
    // the GEMM packs them (or on the fly when x is one row), and the result is bitwise the float32
    // result on the widened weight. Backward gives dx (and dbias); the weight gets no gradient.
    // (+ lowRank.Scale · H · Bᵀ, a LoRA's term added inside: see LowRankTerm)
    public static Tensor Linear(Tensor x, FrozenWeight w, Tensor? bias = null, bool weightInOut = false, LowRankTerm? lowRank = null)
    {
        if (w.Float32 is { } f32) return Linear(x, f32, bias, weightInOut, lowRank);
        int c = x.Size(-1), oc = weightInOut ? w.Cols : w.Rows;
        var y = LinearOutput(x, weightInOut ? w.Rows : w.Cols, oc, bias, w.ToString(), out int rows);
        var ys = y.Span;
        Sgemm.MultiplyHalfB(false, !weightInOut, rows, oc, c, x.Span, c, w.Bits, w.Dtype, w.Cols, ys, oc, bias: bias is null ? default : bias.Span);
        if (lowRank is { } term) { term.Check(rows, oc); term.AddTo(ys, rows, oc); }
        if (Tape.Needs(x, bias) || lowRank is { } t && Tape.Needs(t.H, t.B)) Tape.Record(new FrozenLinearNode(x, w, bias, weightInOut, rows, c, oc, lowRank), y);
        return y;
    }

    sealed class FrozenLinearNode(Tensor x, FrozenWeight w, Tensor? bias, bool weightInOut, int rows, int c, int oc, LowRankTerm? lowRank) : Node
    {
        protected internal override void Backward()
        {
            var dy = Output.Grad!.Span;
            // dx[rows,C] += dy[rows,OC] · W  (W as [OC,C]; stored [C,OC] with weightInOut, read transposed)
            if (x.RequiresGrad)
            {
                var dx = x.GradSpanForWrite(out bool overwrite);
                Sgemm.MultiplyHalfB(false, weightInOut, rows, c, oc, dy, oc, w.Bits, w.Dtype, w.Cols, dx, c, beta: overwrite ? 0f : 1f);
            }
            if (bias is not null && bias.RequiresGrad)
            {
                var db = bias.GradSpan();
                RowSum.AddTo(dy, rows, oc, db);
            }
            lowRank?.Backward(dy, rows, oc);
        }
    }
}
