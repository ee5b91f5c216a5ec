using System.Numerics.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>LayerNorm and RMSNorm over the last dimension, row-parallel; per-row statistics are kept for backward.</summary>
public static partial class Functional
{
    // x: [.., C], weight: [C], bias: [C] -> [.., C]
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, float eps = 1e-5f) => NormCore(x, weight, bias, eps, rms: false);

    // x: [.., C], weight: [C] -> [.., C];  y = x / sqrt(mean(x²) + eps) · w
    public static Tensor RmsNorm(Tensor x, Tensor? weight, float eps = 1e-6f) => NormCore(x, weight, null, eps, rms: true);

    static Tensor NormCore(Tensor x, Tensor? weight, Tensor? bias, float eps, bool rms)
    {
        string op = rms ? "RmsNorm" : "LayerNorm";
        ShapeCheck.MinRank(op, x, 1);
        int c = x.Size(-1), rows = c == 0 ? 0 : x.Length / c;
        if (weight is not null && (weight.Rank != 1 || weight.Shape[0] != c)) throw ShapeCheck.Fail(op, $"weight must be [{c}]", x, weight);
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != c)) throw ShapeCheck.Fail(op, $"bias must be [{c}]", x, bias);
        using var clock = OpClock.Time(OpClock.Kind.Norm);
        var y = x.EmptyLike();
        var mean = new float[rows];
        var rstd = new float[rows];
        var xb = x.Buffer; int xo = x.Offset; var yb = y.Buffer; int yo = y.Offset;
        float[]? wb = weight?.Buffer; int wo = weight?.Offset ?? 0;
        float[]? bb = bias?.Buffer; int bo = bias?.Offset ?? 0;
        RowParallel.For(rows, 8L * c, (s, e) =>
        {
            ReadOnlySpan<float> w = wb is null ? default : wb.AsSpan(wo, c), b = bb is null ? default : bb.AsSpan(bo, c);
            for (int r = s; r < e; r++)
                (mean[r], rstd[r]) = NormRows.Forward(xb.AsSpan(xo + r * c, c), w, b, yb.AsSpan(yo + r * c, c), eps, rms);
        });
        if (Tape.Needs(x, weight, bias)) Tape.Record(new NormNode(x, weight, bias, mean, rstd, rms, c, rows), y);
        return y;
    }

    sealed class NormNode(Tensor x, Tensor? weight, Tensor? bias, float[] mean, float[] rstd, bool rms, int c, int rows) : Node
    {
        // x̂ = (x - μ)·rstd (μ = 0 for RMS), y = x̂·w + b.  With d = dy·w:
        // LayerNorm: dx = rstd·(d - mean(d) - x̂·mean(d·x̂));  RMSNorm: dx = rstd·(d - x̂·mean(d·x̂))
        // dw = Σ_rows dy·x̂,  db = Σ_rows dy
        protected internal override void Backward()
        {
            var g = Output.Grad!; var gb = g.Buffer; int go = g.Offset;
            var xb = x.Buffer; int xo = x.Offset;
            float[]? wb = weight?.Buffer; int wo = weight?.Offset ?? 0;
            bool needX = x.RequiresGrad, needW = weight?.RequiresGrad ?? false, needB = bias?.RequiresGrad ?? false;
            float[]? gxb = null; int gxo = 0;
            bool overwrite = false;
            if (needX) { x.GradSpanForWrite(out overwrite); gxb = x.Grad!.Buffer; gxo = x.Grad.Offset; }
            // Parameter gradients: one partial sum per task, added up after the parallel loop.
            int tasks = WorkerPool.TasksFor(rows, 10L * c);
            var dwPart = needW ? new float[tasks * c] : null;
            var dbPart = needB ? new float[tasks * c] : null;
            RowParallel.ForTasks(tasks, task =>
            {
                var (s, e) = WorkerPool.Chunk(task, tasks, rows);
                ReadOnlySpan<float> w = wb is null ? default : wb.AsSpan(wo, c);
                Span<float> dw = dwPart is null ? default : dwPart.AsSpan(task * c, c), db = dbPart is null ? default : dbPart.AsSpan(task * c, c);
                for (int r = s; r < e; r++)
                    NormRows.Backward(xb.AsSpan(xo + r * c, c), gb.AsSpan(go + r * c, c), w, mean[r], rstd[r], rms,
                        gxb is null ? default : gxb.AsSpan(gxo + r * c, c), overwrite, dw, db);
            });
            if (dwPart is not null) SumParts(dwPart, tasks, c, weight!.GradSpan());
            if (dbPart is not null) SumParts(dbPart, tasks, c, bias!.GradSpan());
        }

        static void SumParts(float[] parts, int tasks, int c, Span<float> into)
        {
            for (int t = 0; t < tasks; t++) TensorPrimitives.Add(into, parts.AsSpan(t * c, c), into);
        }
    }
}
