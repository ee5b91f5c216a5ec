using System.Runtime.Intrinsics;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// sum[c] += Σ_r x[r, c] over a row-major [rows, cols] matrix: a bias gradient from its output's. Column blocks run as
/// parallel tasks, each adding the rows in order, so every sum has the bits of the one-thread loop. Within a block,
/// 64 columns at a time stay in eight vector registers while the rows stream past: no call and no load or store of
/// the sum per row.
/// </summary>
public static unsafe class RowSum
{
    const int Strip = 64;   // columns summed in registers at once: 8 × Vector256

    // x: [rows, cols], sum: [cols] (accumulated)
    public static void AddTo(ReadOnlySpan<float> x, int rows, int cols, Span<float> sum)
    {
        if (rows < 0 || cols < 0 || x.Length < (long)rows * cols || sum.Length < cols)
            throw new ArgumentException($"RowSum: a [{rows}, {cols}] matrix needs {(long)rows * cols} values (got {x.Length}) and a sum of {cols} (got {sum.Length}).");
        if (rows == 0 || cols == 0) return;
        fixed (float* px = x, ps = sum)
        {
            float* xs = px, sums = ps;   // fixed locals cannot be captured; these can, and the lambda runs inside this block
            int strips = (cols + Strip - 1) / Strip;
            RowParallel.For(strips, (long)rows * Strip, (start, end) =>
            {
                for (int s = start; s < end; s++)
                {
                    int c0 = s * Strip;
                    AddStrip(xs + c0, rows, cols, sums + c0, Math.Min(Strip, cols - c0));
                }
            });
        }
    }

    // sum[0..width) += Σ_r x[r·ld + 0..width), rows in order
    static void AddStrip(float* x, int rows, int ld, float* sum, int width)
    {
        int j = 0;
        if (width == Strip && Vector256.IsHardwareAccelerated)
        {
            var s0 = Vector256.Load(sum); var s1 = Vector256.Load(sum + 8); var s2 = Vector256.Load(sum + 16); var s3 = Vector256.Load(sum + 24);
            var s4 = Vector256.Load(sum + 32); var s5 = Vector256.Load(sum + 40); var s6 = Vector256.Load(sum + 48); var s7 = Vector256.Load(sum + 56);
            for (int r = 0; r < rows; r++)
            {
                float* row = x + (nint)r * ld;
                s0 += Vector256.Load(row); s1 += Vector256.Load(row + 8); s2 += Vector256.Load(row + 16); s3 += Vector256.Load(row + 24);
                s4 += Vector256.Load(row + 32); s5 += Vector256.Load(row + 40); s6 += Vector256.Load(row + 48); s7 += Vector256.Load(row + 56);
            }
            s0.Store(sum); s1.Store(sum + 8); s2.Store(sum + 16); s3.Store(sum + 24);
            s4.Store(sum + 32); s5.Store(sum + 40); s6.Store(sum + 48); s7.Store(sum + 56);
            return;
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= width; j += 8)
            {
                var s = Vector256.Load(sum + j);
                for (int r = 0; r < rows; r++) s += Vector256.Load(x + (nint)r * ld + j);
                s.Store(sum + j);
            }
        }
        for (; j < width; j++)
        {
            float s = sum[j];
            for (int r = 0; r < rows; r++) s += x[(nint)r * ld + j];
            sum[j] = s;
        }
    }
}
