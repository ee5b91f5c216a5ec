using System.Numerics.Tensors;
using SoftPrompt.Tensors.Kernels;

namespace SoftPrompt.Tensors.Tests;

public class RowSumTests
{
    [Theory]
    [InlineData(1000, 777)]   // many column blocks, a ragged last one: parallel tasks
    [InlineData(3, 5)]        // one task
    [InlineData(0, 4)]
    public void AddsTheRowsInOrderIntoTheSum(int rows, int cols)
    {
        var rng = new Rng(9);
        var x = new float[rows * cols]; rng.FillNormal(x, 0f, 1f);
        var sum = new float[cols]; rng.FillNormal(sum, 0f, 1f);
        var expected = (float[])sum.Clone();
        for (int r = 0; r < rows; r++) TensorPrimitives.Add(expected, x.AsSpan(r * cols, cols), expected);
        RowSum.AddTo(x, rows, cols, sum);
        Assert.Equal(expected, sum);
    }

    [Fact]
    public void ShapesAreChecked()
    {
        var e = Assert.Throws<ArgumentException>(() => RowSum.AddTo(new float[5], 2, 3, new float[3]));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("got 5", e.Message);
    }
}
