namespace SoftPrompt.Tensors.Kernels;

// TEMPORARY naive SGEMM with the final API; replaced by the packed kernel from branch `gemm`.
public static class Sgemm
{
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, float alpha = 1f, float beta = 0f)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]);
            }
    }

    public static void MultiplyBatched(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, long strideA, ReadOnlySpan<float> b, int ldb, long strideB,
        Span<float> c, int ldc, long strideC, int batch, float alpha = 1f, float beta = 0f)
    {
        for (int i = 0; i < batch; i++)
            Multiply(transA, transB, m, n, k, a[(int)(i * strideA)..], lda, b[(int)(i * strideB)..], ldb, c[(int)(i * strideC)..], ldc, alpha, beta);
    }
}
