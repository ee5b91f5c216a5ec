using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// A frozen weight plus a trainable delta of its shape — full fine-tuning's folded W + ΔW. A 16-bit weight is widened
/// straight into the sum, so no float32 copy of it is made (on the heap or anywhere else) per forward pass.
/// </summary>
public static partial class Functional
{
    // w: [R, C] frozen (f32, bf16, f16), delta: [R, C] -> w + delta [R, C]; the gradient reaches delta only, as dy itself
    public static Tensor Add(FrozenWeight w, Tensor delta)
    {
        if (delta.Rank != 2 || delta.Shape[0] != w.Rows || delta.Shape[1] != w.Cols)
            throw new ShapeMismatchException($"Add: a delta of {Tensor.Format(delta.Shape)} does not match {w}.");
        if (w.Float32 is { } f32) return Add(f32, delta);
        var y = Tensor.Uninitialized(w.Rows, w.Cols);
        HalfFloat.Widen(w.Dtype, w.Bits, y.Span);
        TensorPrimitives.Add(y.Span, delta.Span, y.Span);
        if (Tape.Needs(delta)) Tape.Record(new AddToFrozenNode(delta), y);
        return y;
    }

    sealed class AddToFrozenNode(Tensor delta) : Node
    {
        // dy -> dΔ = dy (the frozen weight gets none)
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span;
            var gd = delta.GradSpanForWrite(out bool overwrite);
            if (overwrite) g.CopyTo(gd);
            else TensorPrimitives.Add(gd, g, gd);
        }
    }
}
