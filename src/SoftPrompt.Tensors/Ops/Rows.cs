using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;

namespace SoftPrompt.Tensors.Ops;

/// <summary>
/// Rows <paramref name="Values"/> [n, D] written over positions Position..Position+n-1 of batch row
/// <paramref name="Batch"/> of a [B, T, D] tensor (how virtual tokens enter a sequence).
/// </summary>
public readonly record struct RowSplice(int Batch, int Position, Tensor Values);

/// <summary>
/// Row-level ops the prompt plan is built from: splicing virtual-token rows into a sequence,
/// and index_select / index_add over the leading dimension (per-row adapters in a mixed batch).
/// </summary>
public static partial class Functional
{
    // x: [B, T, D], splices: values [n_i, D] at (b_i, t_i) -> [B, T, D]
    // The spliced positions take the values; the rest is x. Splices may not overlap.
    public static Tensor Splice(Tensor x, IReadOnlyList<RowSplice> splices)
    {
        ShapeCheck.Rank("Splice", x, 3);
        int b = x.Shape[0], t = x.Shape[1], d = x.Shape[2];
        var covered = new bool[b * t];
        bool needs = x.RequiresGrad;
        foreach (var s in splices)
        {
            if (s.Values.Rank != 2 || s.Values.Shape[1] != d)
                throw ShapeCheck.Fail("Splice", $"spliced rows must be [n, {d}]", x, s.Values);
            int n = s.Values.Shape[0];
            if ((uint)s.Batch >= (uint)b || s.Position < 0 || s.Position + n > t)
                throw new ShapeMismatchException($"Splice: {n} rows at batch row {s.Batch}, position {s.Position} do not fit input {Tensor.Format(x.Shape)}.");
            for (int i = 0; i < n; i++)
            {
                ref bool c = ref covered[s.Batch * t + s.Position + i];
                if (c) throw new ArgumentException($"Splice: position {s.Position + i} of batch row {s.Batch} is spliced twice.");
                c = true;
            }
            needs |= s.Values.RequiresGrad;
        }
        var y = Tensor.Uninitialized(x.Shape.ToArray());
        x.Span.CopyTo(y.Span);
        foreach (var s in splices)
            s.Values.Span.CopyTo(y.Span.Slice((s.Batch * t + s.Position) * d, s.Values.Length));
        if (needs && Tape.IsEnabled) Tape.Record(new SpliceNode(x, splices.ToArray(), covered), y);
        return y;
    }

    sealed class SpliceNode(Tensor x, RowSplice[] splices, bool[] covered) : Node
    {
        // dx = dy outside the spliced positions; dValues_i = dy at its positions
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span;
            int t = x.Shape[1], d = x.Shape[2];
            if (x.RequiresGrad)
            {
                var gx = x.GradSpan();
                for (int r = 0; r < covered.Length; r++)
                {
                    if (covered[r]) continue;
                    var dst = gx.Slice(r * d, d);
                    TensorPrimitives.Add(dst, g.Slice(r * d, d), dst);
                }
            }
            foreach (var s in splices)
            {
                if (!s.Values.RequiresGrad) continue;
                var dst = s.Values.GradSpan();
                TensorPrimitives.Add(dst, g.Slice((s.Batch * t + s.Position) * d, s.Values.Length), dst);
            }
        }
    }

    // x: [N, ..], rows: n indices into N -> [n, ..]   (torch.index_select(x, 0, rows))
    public static Tensor IndexSelect(Tensor x, int[] rows)
    {
        if (x.Rank == 0) throw ShapeCheck.Fail("IndexSelect", "needs at least one dimension", x);
        int n = x.Shape[0];
        CheckRows("IndexSelect", rows, n, x);
        var shape = x.Shape.ToArray();
        shape[0] = rows.Length;
        return GatherRows(x, rows, shape);
    }

    // x: [N, ..] (inner = x.Length / N), rows: checked indices into N -> shape (rows.Length · inner elements): the rows, in order
    static Tensor GatherRows(Tensor x, int[] rows, int[] shape)
    {
        int inner = x.Shape[0] == 0 ? 0 : x.Length / x.Shape[0];
        var y = Tensor.Uninitialized(shape);
        var xs = x.Span; var ys = y.Span;
        for (int i = 0; i < rows.Length; i++) xs.Slice(rows[i] * inner, inner).CopyTo(ys.Slice(i * inner, inner));
        if (Tape.Needs(x)) Tape.Record(new IndexSelectNode(x, rows, inner), y);
        return y;
    }

    sealed class IndexSelectNode(Tensor x, int[] rows, int inner) : Node
    {
        // dx[rows[i]] += dy[i]
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span; var gx = x.GradSpan();
            for (int i = 0; i < rows.Length; i++)
            {
                var dst = gx.Slice(rows[i] * inner, inner);
                TensorPrimitives.Add(dst, g.Slice(i * inner, inner), dst);
            }
        }
    }

    // y: [N, ..], rows: n distinct indices into N, delta: [n, ..] -> y with y[rows[i]] += delta[i]   (torch.index_add)
    public static Tensor IndexAdd(Tensor y, int[] rows, Tensor delta)
    {
        if (y.Rank == 0) throw ShapeCheck.Fail("IndexAdd", "needs at least one dimension", y);
        int n = y.Shape[0], inner = n == 0 ? 0 : y.Length / n;
        if (delta.Rank != y.Rank || delta.Shape[0] != rows.Length || !delta.Shape[1..].SequenceEqual(y.Shape[1..]))
            throw ShapeCheck.Fail("IndexAdd", $"delta must be [{rows.Length}, ..] with the trailing shape of the target", y, delta);
        CheckRows("IndexAdd", rows, n, y);
        if (rows.Distinct().Count() != rows.Length) throw new ArgumentException("IndexAdd: row indices must be distinct.");
        var r = Tensor.Uninitialized(y.Shape.ToArray());
        y.Span.CopyTo(r.Span);
        var rs = r.Span; var ds = delta.Span;
        for (int i = 0; i < rows.Length; i++)
        {
            var dst = rs.Slice(rows[i] * inner, inner);
            TensorPrimitives.Add(dst, ds.Slice(i * inner, inner), dst);
        }
        if (Tape.Needs(y, delta)) Tape.Record(new IndexAddNode(y, rows, delta, inner), r);
        return r;
    }

    sealed class IndexAddNode(Tensor y, int[] rows, Tensor delta, int inner) : Node
    {
        // dy = dr;  ddelta[i] = dr[rows[i]]
        protected internal override void Backward()
        {
            var g = Output.Grad!.Span;
            if (y.RequiresGrad)
            {
                var gy = y.GradSpan();
                TensorPrimitives.Add(gy, g, gy);
            }
            if (delta.RequiresGrad)
            {
                var gd = delta.GradSpan();
                for (int i = 0; i < rows.Length; i++)
                {
                    var dst = gd.Slice(i * inner, inner);
                    TensorPrimitives.Add(dst, g.Slice(rows[i] * inner, inner), dst);
                }
            }
        }
    }

    static void CheckRows(string op, int[] rows, int n, Tensor x)
    {
        for (int i = 0; i < rows.Length; i++)
            if ((uint)rows[i] >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(rows), $"{op}: row index {rows[i]} at position {i} is outside dimension 0 of size {n} (shape {Tensor.Format(x.Shape)}).");
    }
}
