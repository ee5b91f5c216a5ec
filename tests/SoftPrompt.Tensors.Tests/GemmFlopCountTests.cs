using SoftPrompt.Tensors.Kernels;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Tests;

/// <summary>
/// <see cref="Sgemm.FlopsDone"/> counts 2·m·n·k for every product, whichever path runs it. The counter is
/// process-wide, so these run in the collection that runs alone.
/// </summary>
[Collection(KernelSwitchCollection.Name)]
public class GemmFlopCountTests
{
    static long Counted(Action product)
    {
        long before = Sgemm.FlopsDone;
        product();
        return Sgemm.FlopsDone - before;
    }

    [Theory]
    [InlineData(100, 300, 64)]    // packed, split over the pool
    [InlineData(5, 7, 9)]         // small, on the calling thread
    [InlineData(1, 1000, 800)]    // matrix-vector, dot form
    [InlineData(1000, 1, 800)]    // matrix-vector, axpy form
    public void AProductCountsTwiceMTimesNTimesK(int m, int n, int k)
    {
        var a = new float[m * k]; var b = new float[k * n]; var c = new float[m * n];
        Assert.Equal(2L * m * n * k, Counted(() => Sgemm.Multiply(false, false, m, n, k, a, k, b, n, c, n)));
        var half = new ushort[k * n];
        Assert.Equal(2L * m * n * k, Counted(() => Sgemm.MultiplyHalfB(false, false, m, n, k, a, k, half, WeightDtype.BF16, n, c, n)));
    }

    [Theory]
    [InlineData(64, 19, 31, 16)]     // many small products: one per task, on the pool's threads
    [InlineData(2, 300, 200, 100)]   // a few big ones: one after another, each parallel
    public void ABatchCountsEveryProduct(int batch, int m, int n, int k)
    {
        var a = new float[batch * m * k]; var b = new float[batch * k * n]; var c = new float[batch * m * n];
        Assert.Equal(batch * 2L * m * n * k,
            Counted(() => Sgemm.MultiplyBatched(false, false, m, n, k, a, k, m * k, b, n, k * n, c, n, m * n, batch)));
    }

    [Fact]
    public void AProductThatOnlyScalesCCountsNothing()
    {
        var a = new float[12]; var b = new float[12]; var c = new float[16];
        Assert.Equal(0, Counted(() => Sgemm.Multiply(false, false, 4, 4, 0, a, 1, b, 4, c, 4, beta: 0.5f)));
        Assert.Equal(0, Counted(() => Sgemm.Multiply(false, false, 4, 4, 3, a, 3, b, 4, c, 4, alpha: 0f, beta: 0.5f)));
    }
}
