using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Tensors.Tests;

/// <summary>The pool's bound: sizes least recently used leave first, the one just returned stays, a buffer over the bound is not kept.</summary>
public class BufferCacheTests
{
    [Fact]
    public void PastItsBoundTheLeastRecentlyUsedLengthsLeaveFirst()
    {
        var cache = new BufferCache(maxBytes: 4 * 100);
        cache.Keep(new float[40]);
        cache.Keep(new float[30]);
        cache.Keep(new float[20]);              // 90 floats kept
        Assert.Equal(4 * 90, cache.Bytes);
        var forty = cache.Take(40)!;             // 40 is now the most recently used length
        cache.Keep(forty);
        cache.Keep(new float[25]);               // 115 > 100: the least recently used (30) leaves
        Assert.Null(cache.Take(30));
        Assert.Equal(4 * 85, cache.Bytes);
        Assert.NotNull(cache.Take(20));
        Assert.NotNull(cache.Take(40));
        Assert.NotNull(cache.Take(25));
        Assert.Equal(0, cache.Bytes);
        cache.Keep(new float[101]);              // larger than the whole bound: not kept
        Assert.Equal(0, cache.Bytes);
        Assert.Null(cache.Take(101));
    }

    [Fact]
    public void ManyDistinctLengthsStayWithinTheBound()
    {
        var cache = new BufferCache(maxBytes: 1 << 20);
        for (int n = 1000; n < 5000; n++) cache.Keep(new float[n]);   // what a batch of changing shapes asks for
        Assert.InRange(cache.Bytes, 1, 1 << 20);
        Assert.NotNull(cache.Take(4999));                              // the newest stayed
        Assert.Null(cache.Take(1000));                                 // the oldest left
    }
}
