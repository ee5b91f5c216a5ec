using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Ops;

/// <summary>Matrix products on the packed SGEMM: 2-D, batched, either operand transposed.</summary>
public static partial class Functional
{
    // a: [.., M, K] (or [.., K, M] if transA), b: [.., K, N] (or [.., N, K] if transB), or b: [K, N] shared by every batch
    //   -> [.., M, N]
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        ShapeCheck.MinRank("MatMul", a, 2, "a");
        ShapeCheck.MinRank("MatMul", b, 2, "b");
        int m = transA ? a.Size(-1) : a.Size(-2), ka = transA ? a.Size(-2) : a.Size(-1);
        int kb = transB ? b.Size(-1) : b.Size(-2), n = transB ? b.Size(-2) : b.Size(-1);
        if (ka != kb) throw ShapeCheck.Fail("MatMul", $"inner dimensions differ ({ka} vs {kb}; transA={transA}, transB={transB})", a, b);
        bool sharedB = b.Rank == 2;
        if (!sharedB && (a.Rank != b.Rank || !a.Shape[..^2].SequenceEqual(b.Shape[..^2])))
            throw ShapeCheck.Fail("MatMul", "batch dimensions differ", a, b);
        int batch = 1;
        for (int i = 0; i < a.Rank - 2; i++) batch *= a.Shape[i];
        var shape = a.Shape.ToArray();
        shape[^2] = m; shape[^1] = n;
        var c = Tensor.Uninitialized(shape);
        int k = ka;
        int lda = a.Size(-1), ldb = b.Size(-1);
        if (sharedB && !transA)
            Sgemm.Multiply(false, transB, batch * m, n, k, a.Span, lda, b.Span, ldb, c.Span, n);
        else
            Sgemm.MultiplyBatched(transA, transB, m, n, k, a.Span, lda, (long)m * k, b.Span, ldb, sharedB ? 0 : (long)k * n, c.Span, n, (long)m * n, batch);
        if (Tape.Needs(a, b)) Tape.Record(new MatMulNode(a, b, transA, transB, batch, m, n, k), c);
        return c;
    }

    sealed class MatMulNode(Tensor a, Tensor b, bool transA, bool transB, int batch, int m, int n, int k) : Node
    {
        // C = op(A)·op(B):  d op(A) = dC·op(B)ᵀ,  d op(B) = op(A)ᵀ·dC; a transposed operand gets the transposed product.
        protected internal override void Backward()
        {
            var dc = Output.Grad!.Span;
            bool sharedB = b.Rank == 2;
            int lda = a.Size(-1), ldb = b.Size(-1);
            long sA = (long)m * k, sB = sharedB ? 0 : (long)k * n, sC = (long)m * n;
            if (a.RequiresGrad)
            {
                var da = a.GradSpan();
                if (!transA) // dA[m,k] += dC[m,n] · op(B)ᵀ
                {
                    if (sharedB) Sgemm.Multiply(false, !transB, batch * m, k, n, dc, n, b.Span, ldb, da, k, beta: 1f);
                    else Sgemm.MultiplyBatched(false, !transB, m, k, n, dc, n, sC, b.Span, ldb, sB, da, k, sA, batch, beta: 1f);
                }
                else // A is [k,m]: dA += op(B) · dCᵀ
                    Sgemm.MultiplyBatched(transB, true, k, m, n, b.Span, ldb, sB, dc, n, sC, da, m, sA, batch, beta: 1f);
            }
            if (b.RequiresGrad)
            {
                var db = b.GradSpan();
                if (!transB) // dB[k,n] += op(A)ᵀ · dC
                {
                    if (sharedB && !transA) Sgemm.Multiply(true, false, k, n, batch * m, a.Span, lda, dc, n, db, n, beta: 1f);
                    else if (sharedB) for (int i = 0; i < batch; i++) Sgemm.Multiply(!transA, false, k, n, m, a.Span[(int)(i * sA)..], lda, dc[(int)(i * sC)..], n, db, n, beta: 1f);
                    else Sgemm.MultiplyBatched(!transA, false, k, n, m, a.Span, lda, sA, dc, n, sC, db, n, sB, batch, beta: 1f);
                }
                else // B is [n,k]: dB += dCᵀ · op(A)
                {
                    if (sharedB && !transA) Sgemm.Multiply(true, false, n, k, batch * m, dc, n, a.Span, lda, db, k, beta: 1f);
                    else if (sharedB) for (int i = 0; i < batch; i++) Sgemm.Multiply(true, transA, n, k, m, dc[(int)(i * sC)..], n, a.Span[(int)(i * sA)..], lda, db, k, beta: 1f);
                    else Sgemm.MultiplyBatched(true, transA, n, k, m, dc, n, sC, a.Span, lda, sA, db, k, sB, batch, beta: 1f);
                }
            }
        }
    }

    /// <summary>
    /// Linear's output [.., OC] for x [.., C], after checking C against the weight's input features and the
    /// bias against OC, uninitialised: the GEMM writes every element (and adds the bias as it stores them).
    /// </summary>
    static Tensor LinearOutput(Tensor x, int weightIn, int oc, Tensor? bias, string weight, out int rows)
    {
        int c = x.Size(-1);
        if (weightIn != c)
            throw new ShapeMismatchException($"Linear: input features {c} do not match the weight's {weightIn} (shapes {Tensor.Format(x.Shape)} and {weight}).");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != oc))
            throw new ShapeMismatchException($"Linear: bias must be [{oc}] (shapes {weight} and {Tensor.Format(bias.Shape)}).");
        var shape = x.Shape.ToArray();
        shape[^1] = oc;
        rows = 1;
        for (int i = 0; i < shape.Length - 1; i++) rows *= shape[i];   // also when C = 0: those rows are the bias (or 0)
        return Tensor.Uninitialized(shape);
    }

    // x: [.., C], w: [OC, C] (PyTorch Linear layout) or [C, OC] with weightInOut (GPT-2 Conv1D), bias: [OC] -> [.., OC]
    //   (+ lowRank.Scale · H · Bᵀ, a LoRA's term added inside: see LowRankTerm)
    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias = null, bool weightInOut = false, LowRankTerm? lowRank = null)
    {
        ShapeCheck.Rank("Linear", w, 2, "weight");
        int c = x.Size(-1), oc = weightInOut ? w.Shape[1] : w.Shape[0];
        var y = LinearOutput(x, weightInOut ? w.Shape[0] : w.Shape[1], oc, bias, Tensor.Format(w.Shape), out int rows);
        var ys = y.Span;
        Sgemm.Multiply(false, !weightInOut, rows, oc, c, x.Span, c, w.Span, w.Shape[1], ys, oc, bias: bias is null ? default : bias.Span);
        if (lowRank is { } term) { term.Check(rows, oc); term.AddTo(ys, rows, oc); }
        if (Tape.Needs(x, w, bias) || lowRank is { } t && Tape.Needs(t.H, t.B)) Tape.Record(new LinearNode(x, w, bias, weightInOut, rows, c, oc, lowRank), y);
        return y;
    }

    sealed class LinearNode(Tensor x, Tensor w, Tensor? bias, bool weightInOut, int rows, int c, int oc, LowRankTerm? lowRank) : Node
    {
        // On two threads, a layer whose input and weight both need gradients runs its two backward GEMMs side by side, one
        // a thread (each single-threaded: a product inside a pool job runs on its thread), instead of one after the other
        // with both threads in each. They cost the same flops; run whole, neither packs the other's share of an operand
        // twice nor waits at the other thread between blocks. The bits are the same: a product's sums do not depend on
        // how its tasks are split.
        const long SideBySideMinFlops = 1L << 24;

        protected internal override void Backward()
        {
            var dy = Output.Grad!;
            bool overwrite = false;
            if (x.RequiresGrad) x.GradSpanForWrite(out overwrite);
            if (w.RequiresGrad) w.GradSpan();
            if (bias is not null && bias.RequiresGrad) bias.GradSpan();
            if (x.RequiresGrad && w.RequiresGrad && WorkerPool.ThreadCount == 2 && 2L * rows * c * oc >= SideBySideMinFlops)
            {
                RowParallel.ForTasks(2, task =>
                {
                    if (task == 0) { InputGradient(dy, overwrite); BiasGradient(dy); }
                    else WeightGradient(dy);
                });
            }
            else
            {
                if (x.RequiresGrad) InputGradient(dy, overwrite);
                if (w.RequiresGrad) WeightGradient(dy);
                BiasGradient(dy);
            }
            lowRank?.Backward(dy.Span, rows, oc);
        }

        // dx[rows,C] (+)= dy[rows,OC] · W  (W as [OC,C]); frozen inputs skip this
        void InputGradient(Tensor dy, bool overwrite) =>
            Sgemm.Multiply(false, weightInOut, rows, c, oc, dy.Span, oc, w.Span, w.Shape[1], x.Grad!.Span, c, beta: overwrite ? 0f : 1f);

        // dW[OC,C] += dyᵀ · x  (or dW[C,OC] += xᵀ · dy): the weight-gradient GEMM runs only for trainable weights
        void WeightGradient(Tensor dy)
        {
            if (weightInOut) Sgemm.Multiply(true, false, c, oc, rows, x.Span, c, dy.Span, oc, w.Grad!.Span, oc, beta: 1f);
            else Sgemm.Multiply(true, false, oc, c, rows, dy.Span, oc, x.Span, c, w.Grad!.Span, c, beta: 1f);
        }

        void BiasGradient(Tensor dy)
        {
            if (bias is not null && bias.RequiresGrad) RowSum.AddTo(dy.Span, rows, oc, bias.Grad!.Span);
        }
    }
}
