using System.Numerics.Tensors;

namespace SoftPrompt.Tensors.Kernels;

/// <summary>
/// sum[c] += Σ_r x[r, c] over a row-major [rows, cols] matrix: a bias gradient from its output's. Column blocks run as
/// parallel tasks, each adding the rows in order, so every sum has the bits of the one-thread loop.
/// </summary>
public static unsafe class RowSum
{
    const int ColumnBlock = 64;

    // x: [rows, cols], sum: [cols] (accumulated)
    public static void AddTo(ReadOnlySpan<float> x, int rows, int cols, Span<float> sum)
    {
        if (rows < 0 || cols < 0 || x.Length < (long)rows * cols || sum.Length < cols)
            throw new ArgumentException($"RowSum: a [{rows}, {cols}] matrix needs {(long)rows * cols} values (got {x.Length}) and a sum of {cols} (got {sum.Length}).");
        fixed (float* px = x, ps = sum)
        {
            float* xs = px, sums = ps;   // fixed locals cannot be captured; these can, and the lambda runs inside this block
            int blocks = (cols + ColumnBlock - 1) / ColumnBlock;
            RowParallel.For(blocks, (long)rows * ColumnBlock, (start, end) =>
            {
                int c0 = start * ColumnBlock, width = Math.Min(cols, end * ColumnBlock) - c0;
                var s = new Span<float>(sums + c0, width);
                for (int r = 0; r < rows; r++) TensorPrimitives.Add(s, new ReadOnlySpan<float>(xs + (long)r * cols + c0, width), s);
            });
        }
    }
}
