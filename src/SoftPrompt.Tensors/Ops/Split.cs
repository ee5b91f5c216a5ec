using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Tensors.Ops;

public static partial class Functional
{
    // x: [.., parts·D, ..] -> parts × [.., D, ..]: consecutive equal blocks of dim, e.g. the q | k | v of a fused projection.
    // One node serves every part: its backward writes x's gradient in one pass (a copy where x has none yet, an add where
    // it has), where a Slice per part zero-fills the whole gradient first and then adds part by part.
    public static Tensor[] Split(Tensor x, int dim, int parts)
    {
        dim = x.NormalizeDim(dim);
        int size = x.Shape[dim];
        if (parts <= 0 || size % parts != 0)
            throw new ShapeMismatchException($"Split: dimension {dim} of size {size} (shape {Tensor.Format(x.Shape)}) does not split into {parts} equal parts.");
        var shape = x.Shape.ToArray();
        shape[dim] = size / parts;
        var ys = new Tensor[parts];
        for (int p = 0; p < parts; p++) ys[p] = Tensor.Uninitialized(shape);
        var (outer, _, inner) = Around(x, dim);
        int block = size / parts * inner;   // floats of one part in one outer row
        RowParallel.For(outer, size * inner, (start, end) =>
        {
            var xs = x.Span;
            for (int o = start; o < end; o++)
                for (int p = 0; p < parts; p++)
                    xs.Slice((o * parts + p) * block, block).CopyTo(ys[p].Span.Slice(o * block, block));
        });
        if (Tape.Needs(x)) Tape.RecordMulti(new SplitNode(x, ys, outer, block), ys[0], ys[1..]);
        return ys;
    }

    sealed class SplitNode(Tensor x, Tensor[] parts, int outer, int block) : Node
    {
        protected internal override bool ReceivedGrad
        {
            get
            {
                foreach (var p in parts) if (p.Grad is not null) return true;
                return false;
            }
        }

        protected internal override void Backward()
        {
            x.GradSpanForWrite(out bool overwrite);
            RowParallel.For(outer, block * parts.Length, (start, end) =>
            {
                var gx = x.Grad!.Span;
                for (int p = 0; p < parts.Length; p++)
                {
                    var g = parts[p].Grad;
                    for (int o = start; o < end; o++)
                    {
                        var dst = gx.Slice((o * parts.Length + p) * block, block);
                        if (g is null) { if (overwrite) dst.Clear(); }
                        else if (overwrite) g.Span.Slice(o * block, block).CopyTo(dst);
                        else TensorPrimitives.Add(dst, g.Span.Slice(o * block, block), dst);
                    }
                }
            });
            // The tape releases the primary output's gradient; the others' buffers go back to the pool here.
            for (int p = 1; p < parts.Length; p++)
                if (parts[p].Grad is { Scope: not null } g) { parts[p].Grad = null; TensorScope.ReleaseEarly(g); }
        }
    }
}
