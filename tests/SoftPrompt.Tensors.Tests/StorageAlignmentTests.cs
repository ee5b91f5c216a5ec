using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Tensors.Tests;

/// <summary>Large heap tensors and 16-bit frozen weights start on a 64-byte line, whatever their array's own address; small ones are left alone.</summary>
public class StorageAlignmentTests
{
    static unsafe long Line(ReadOnlySpan<float> s) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(s)) & 63;
    static unsafe long Line(ReadOnlySpan<ushort> s) => (long)Unsafe.AsPointer(ref MemoryMarshal.GetReference(s)) & 63;

    [Fact]
    public void WeightSizedStorageStartsOnALineAndKeepsItsValues()
    {
        var rng = new Random(3);
        for (int i = 0; i < 8; i++)   // several arrays: their own addresses fall anywhere
        {
            var t = Tensor.ZerosOnHeap(300, 128);
            Assert.Equal(0, Line(t.Span));
            Assert.Equal(300 * 128, t.Length);
            Assert.All(t.ToArray(), v => Assert.Equal(0f, v));

            var values = Enumerable.Range(0, 96 * 200).Select(_ => (float)rng.NextDouble()).ToArray();
            foreach (var dtype in new[] { WeightDtype.BF16, WeightDtype.F16 })
            {
                var w = FrozenWeight.FromFloats(values, 96, 200, dtype);
                Assert.Equal(0, Line(w.Bits));
                Assert.Equal(96 * 200, w.Bits.Length);
                var widened = w.ToTensor().ToArray();
                Assert.Equal(widened, FrozenWeight.FromBits(dtype, w.Bits, 96, 200).ToTensor().ToArray());
                var transposed = w.Transposed();
                Assert.Equal(0, Line(transposed.Bits));
                Assert.Equal(widened[5 * 200 + 7], transposed.ToTensor().Span[7 * 96 + 5]);
                var columns = w.Columns(10, 50);
                Assert.Equal(0, Line(columns.Bits));
                Assert.Equal(widened[3 * 200 + 10 + 4], columns.ToTensor().Span[3 * 50 + 4]);
            }
        }
        Assert.Equal(300 * 128, Tensor.ZerosOnHeap(300, 128).Span.Length);
    }

    [Fact]
    public void PooledStorageOfARowOrMoreStartsOnALine()
    {
        using var scope = Memory.TensorScope.Begin();
        for (int i = 0; i < 8; i++)
        {
            var t = Tensor.Uninitialized(3, 770 + i);
            Assert.Equal(0, Line(t.Span));
            Assert.Equal(3 * (770 + i), t.Span.Length);
        }
        var cache = Tensor.ZerosPooled(2, 16, 768);
        Assert.Equal(0, Line(cache.Span));
        Assert.All(cache.ToArray(), v => Assert.Equal(0f, v));
        Tensor.GiveBack(cache);
    }

    [Fact]
    public void SmallTensorsAreOrdinaryArrays()
    {
        var t = Tensor.ZerosOnHeap(8, 8);
        Assert.Equal(0, t.Offset);
    }
}
