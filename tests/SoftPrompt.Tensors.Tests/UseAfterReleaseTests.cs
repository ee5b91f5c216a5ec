using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Memory;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tensors.Tests;

/// <summary>A tensor read after its scope gave its pooled storage back throws instead of reading another step's numbers.</summary>
public class UseAfterReleaseTests
{
    [Fact]
    public void ReadingATensorAfterItsScopeEndedThrowsNamingShapeAndScope()
    {
        Tensor stale;
        using (TensorScope.Begin("probe")) stale = Tensor.Full(1f, 2, 3);

        var e = Assert.Throws<InvalidOperationException>(() => stale.ToArray());
        Assert.Contains("Tensor[2, 3]", e.Message);
        Assert.Contains("\"probe\"", e.Message);
        Assert.Contains("depth 1", e.Message);
        Assert.Contains(nameof(ReadingATensorAfterItsScopeEndedThrowsNamingShapeAndScope), e.Message);
        Assert.Contains("UseAfterReleaseTests.cs:", e.Message);
        Assert.Throws<InvalidOperationException>(() => stale.Item());
        Assert.Throws<InvalidOperationException>(() => stale.Span[0] = 2f);   // writes too
        Assert.Throws<InvalidOperationException>(() => F.Add(stale, stale));  // kernels take the storage through the same check
    }

    [Fact]
    public void APooledTensorGivenBackThrowsWhenReadAndItsStorageComesBackCleared()
    {
        var t = Tensor.ZerosPooled(3, 5);
        Assert.All(t.ToArray(), v => Assert.Equal(0f, v));
        t.Span.Fill(7f);
        var view = t.View([5, 3]);
        Tensor.GiveBack(t);
        var e = Assert.Throws<InvalidOperationException>(() => t.ToArray());
        Assert.Contains("GiveBack", e.Message);
        Assert.Throws<InvalidOperationException>(() => view.ToArray());
        Assert.Throws<InvalidOperationException>(() => Tensor.GiveBack(t));                 // twice
        Assert.Throws<ArgumentException>(() => Tensor.GiveBack(Tensor.ZerosOnHeap(3, 5)));   // not pooled
        Assert.Throws<ArgumentException>(() => Tensor.GiveBack(Tensor.ZerosPooled(3, 5).View([15])));   // a view
        // the next of the same size may get the same storage back: zeros again, whatever was written in it
        Assert.All(Tensor.ZerosPooled(3, 5).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void ViewsOfAReleasedTensorThrowToo()
    {
        Tensor reshaped, viewed, detached;
        using (TensorScope.Begin())
        {
            var x = Tensor.Full(1f, 4, 6);
            reshaped = F.Reshape(x, 6, 4);
            viewed = x.View([2, 3], 6);
            detached = x.Detach();
        }
        var e = Assert.Throws<InvalidOperationException>(() => reshaped.ToArray());
        Assert.Contains("Tensor[6, 4] (a view of Tensor[4, 6])", e.Message);
        Assert.Throws<InvalidOperationException>(() => viewed.ToArray());
        Assert.Throws<InvalidOperationException>(() => detached.ToArray());
    }

    [Fact]
    public void AStaleTensorStillThrowsOnceALaterScopeRentsItsBuffer()
    {
        const int odd = 7919;   // a length no other test asks the (shared) pool for
        Tensor stale;
        using (TensorScope.Begin()) stale = Tensor.Full(1f, odd);
        using (TensorScope.Begin("later"))
        {
            long misses = BufferPool.AllocationsOnThisThread;
            var fresh = Tensor.Full(2f, odd);
            Assert.Equal(misses, BufferPool.AllocationsOnThisThread);   // served from the pool: stale's buffer
            Assert.Throws<InvalidOperationException>(() => stale.ToArray());
            Assert.All(fresh.ToArray(), v => Assert.Equal(2f, v));
        }
    }

    [Fact]
    public void ReleaseGivesBackWhatNoGraphWillReadAndKeepsWhatTheTapeMayRead()
    {
        using (TensorScope.Begin("release"))
        {
            var recorded = Tensor.Full(1f, 5);
            TensorScope.Release(recorded);   // the tape records: a backward pass may read it
            Assert.Equal(5, recorded.ToArray().Length);
            using (Tape.NoGrad())
            {
                var done = Tensor.Full(2f, 5);
                var view = done.View([5]);
                var heap = Tensor.ZerosOnHeap(3);
                TensorScope.Release(view, heap, null);   // a view and a heap tensor are left alone
                Assert.Equal(2f, done.ToArray()[0]);
                Assert.Equal(0f, heap.ToArray()[0]);
                TensorScope.Release(done);
                Assert.Throws<InvalidOperationException>(() => done.ToArray());
                Assert.Throws<InvalidOperationException>(() => view.ToArray());
            }
        }
    }

    [Fact]
    public void NestedScopesAreToldApartInTheMessage()
    {
        using (TensorScope.Begin("outer"))
        {
            Tensor inner;
            using (TensorScope.Begin("inner")) inner = Tensor.Zeros(3);
            var e = Assert.Throws<InvalidOperationException>(() => inner.ToArray());
            Assert.Contains("\"inner\" (depth 2", e.Message);
        }
    }

    [Fact]
    public void EarlyReleaseIsReportedAsSuch()
    {
        using (TensorScope.Begin("step"))
        {
            var g = Tensor.Zeros(5);
            TensorScope.ReleaseEarly(g);
            var e = Assert.Throws<InvalidOperationException>(() => g.ToArray());
            Assert.Contains("released early, inside TensorScope", e.Message);
        }
    }

    [Fact]
    public void KeptHeapAndParameterTensorsNeverTripTheCheck()
    {
        var parameter = Tensor.Full(1f, 4);   // made outside any scope
        Tensor keptToHeap, keptView, keptToOuter, onHeap, copy;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                keptToOuter = inner.Keep(Tensor.Full(2f, 4));
                keptView = inner.Keep(F.Reshape(Tensor.Full(3f, 2, 2), 4));   // keeps the tensor the view reads
                onHeap = Tensor.ZerosOnHeap(4);
                copy = Tensor.Full(4f, 4).HeapCopy();
                F.Add(parameter, onHeap);
            }
            Assert.Equal(2f, keptToOuter.ToArray()[0]);
            keptToHeap = outer.Keep(keptToOuter);
            outer.Keep(keptView);
        }
        Assert.Equal(1f, parameter.ToArray()[0]);
        Assert.Equal(2f, keptToHeap.ToArray()[0]);
        Assert.Equal(3f, keptView.ToArray()[0]);
        Assert.Equal(0f, onHeap.ToArray()[0]);
        Assert.Equal(4f, copy.ToArray()[0]);
    }
}
