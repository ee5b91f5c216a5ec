namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// Single-precision GEMM, row-major: <c>C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C</c>.
/// GotoBLAS/BLIS structure: B is packed into a shared KC×NC panel, A into per-thread MC×KC
/// blocks, and a register-blocked SIMD micro-kernel computes MR×NR tiles of C from them.
/// Packing absorbs the transposes, so NN, NT, TN and TT all run the same inner loop.
/// The files of this class, one concept each:
///   Sgemm.cs             public API, argument checks, trivial cases
///   Sgemm.Driver.cs      the blocking loops and the parallel jobs
///   Sgemm.Packing.cs     A and B packing (transposes, zero padding of edge panels)
///   Sgemm.MicroKernel.cs the Vector256 (6×16) and Vector512 (12×32) micro-kernels
///   Sgemm.Gemv.cs        m == 1 or n == 1: matrix-vector products straight from the operands
///   Sgemm.Half.cs        B as bf16/f16 (frozen weights): widened while packing, or in the gemv
///   Sgemm.Scratch.cs     per-thread aligned pack buffers, reused across calls
/// </summary>
public static partial class Sgemm
{
    /// <summary>
    /// <c>C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C</c>, all row-major.
    /// op(A) is A (stored [m,k], row stride <paramref name="lda"/>) or, with <paramref name="transA"/>,
    /// A^T (A stored [k,m], row stride lda); likewise B is stored [k,n] or, transposed, [n,k].
    /// With <paramref name="beta"/> == 0, C is overwritten and never read (it may hold NaN).
    /// A non-empty <paramref name="bias"/> ([n], with beta == 0) is added to every row of C as the
    /// tiles are stored: <c>C = alpha * op(A) · op(B) + bias</c>, a Linear layer's output in one pass
    /// over C, with the bits of filling C with the bias and multiplying with beta = 1.
    /// </summary>
    public static unsafe void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, float alpha = 1f, float beta = 0f, ReadOnlySpan<float> bias = default)
    {
        CheckOperand("A", transA ? k : m, transA ? m : k, lda, a.Length, 0, 1);
        CheckOperand("B", transB ? n : k, transB ? k : n, ldb, b.Length, 0, 1);
        CheckOperand("C", m, n, ldc, c.Length, 0, 1);
        CheckBias(bias, n, beta);
        if (m == 0 || n == 0) return;

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        fixed (float* pbias = bias)
        {
            var g = new GemmArgs(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, alpha, beta) { Bias = bias.IsEmpty ? null : pbias };
            Execute(in g, parallel: true);
        }
    }

    /// <summary>A bias is [n] floats (or more) and replaces beta·C: it needs beta == 0.</summary>
    static void CheckBias(ReadOnlySpan<float> bias, int n, float beta)
    {
        if (bias.IsEmpty) return;
        if (bias.Length < n)
            throw new ArgumentException($"bias holds {bias.Length} floats but C has {n} columns.", nameof(bias));
        if (beta != 0f)
            throw new ArgumentException($"a bias is added instead of beta·C: beta must be 0, got {beta}.", nameof(beta));
    }

    /// <summary>
    /// <paramref name="batch"/> independent products of the same shape: product i reads A from
    /// <c>a[i*strideA..]</c>, B from <c>b[i*strideB..]</c> and writes C at <c>c[i*strideC..]</c>.
    /// A stride of 0 reuses one operand for every product. Small products (attention-like
    /// shapes) run one per task across the thread pool; big ones run one after another, each
    /// parallelised inside.
    /// </summary>
    public static unsafe void MultiplyBatched(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, long strideA, ReadOnlySpan<float> b, int ldb, long strideB,
        Span<float> c, int ldc, long strideC, int batch, float alpha = 1f, float beta = 0f)
    {
        if (batch < 0) throw new ArgumentException($"batch must be non-negative, got {batch}.", nameof(batch));
        CheckOperand("A", transA ? k : m, transA ? m : k, lda, a.Length, strideA, batch);
        CheckOperand("B", transB ? n : k, transB ? k : n, ldb, b.Length, strideB, batch);
        long cLen = CheckOperand("C", m, n, ldc, c.Length, strideC, batch);
        if (batch > 1 && cLen > 0 && strideC < cLen)
            throw new ArgumentException(
                $"strideC ({strideC}) is smaller than one C matrix ({m}x{n}, ldc {ldc}: {cLen} floats); outputs would overlap.",
                nameof(strideC));
        if (m == 0 || n == 0 || batch == 0) return;

        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var g = new GemmArgs(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, alpha, beta);
            ExecuteBatched(in g, strideA, strideB, strideC, batch);
        }
    }

    /// <summary>
    /// Checks one operand stored as <paramref name="batch"/> matrices of [rows, cols] with row
    /// stride <paramref name="ld"/>, <paramref name="stride"/> floats apart, against the span
    /// length. Returns the floats one matrix spans (0 when it is empty).
    /// </summary>
    static long CheckOperand(string name, int rows, int cols, int ld, int length, long stride, int batch)
    {
        if (rows < 0 || cols < 0)
            throw new ArgumentException($"{name} has a negative size: stored [{rows}, {cols}].", name.ToLowerInvariant());
        if (ld < cols)
            throw new ArgumentException(
                $"ld{name.ToLowerInvariant()} ({ld}) is smaller than the {cols} columns of {name} (stored [{rows}, {cols}]).",
                "ld" + name.ToLowerInvariant());
        if (stride < 0)
            throw new ArgumentException($"stride{name} must be non-negative, got {stride}.", "stride" + name);
        long one = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        long need = one == 0 || batch == 0 ? 0 : (batch - 1) * stride + one;
        if (length < need)
            throw new ArgumentException(
                batch == 1
                    ? $"{name} holds {length} floats but [{rows}, {cols}] with ld {ld} needs {need}."
                    : $"{name} holds {length} floats but {batch} matrices of [{rows}, {cols}] (ld {ld}, stride {stride}) need {need}.",
                name.ToLowerInvariant());
        return one;
    }
}
