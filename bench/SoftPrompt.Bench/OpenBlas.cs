using System.Runtime.InteropServices;

namespace SoftPrompt.Bench;

/// <summary>
/// The reference SGEMM: <c>cblas_sgemm</c> from the system OpenBLAS (Debian
/// libopenblas0-pthread), loaded at run time so the benchmark still runs without it.
/// </summary>
static unsafe class OpenBlas
{
    const int RowMajor = 101, NoTrans = 111, Trans = 112;

    static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> s_sgemm;
    static readonly delegate* unmanaged<int, void> s_setThreads;
    static readonly delegate* unmanaged<byte*> s_coreName;

    public static bool Available => s_sgemm != null;

    /// <summary>Why it is unavailable, or the library it came from.</summary>
    public static string Description { get; }

    static OpenBlas()
    {
        foreach (string name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
        {
            if (!NativeLibrary.TryLoad(name, out nint lib)) continue;
            if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out nint sgemm)) continue;
            s_sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
            if (NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out nint st))
                s_setThreads = (delegate* unmanaged<int, void>)st;
            if (NativeLibrary.TryGetExport(lib, "openblas_get_corename", out nint cn))
                s_coreName = (delegate* unmanaged<byte*>)cn;
            string core = s_coreName != null ? Marshal.PtrToStringUTF8((nint)s_coreName()) ?? "?" : "?";
            Description = $"{name} (core {core})";
            return;
        }
        Description = "OpenBLAS not found (install libopenblas0-pthread): reference column left empty";
    }

    public static void SetThreads(int threads)
    {
        if (s_setThreads != null) s_setThreads(threads);
    }

    /// <summary>Row-major C[m,n] = alpha * op(A) · op(B) + beta * C.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        s_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
