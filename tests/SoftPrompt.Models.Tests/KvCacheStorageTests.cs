using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

/// <summary>A cache's storage: made for the reserved length at once, grown by doubling past it, given back at Dispose.</summary>
public class KvCacheStorageTests
{
    const int Width = 8;

    static Tensor Rows(int b, int t, float value) => Tensor.Full(value, b, t, Width);

    [Fact]
    public void TheFirstPassMakesStorageForTheReservedLengthAndGrowsOnlyPastIt()
    {
        using var cache = new KvCache(2) { ReservedLength = 40 };
        var (keys, _, length) = cache.Append(0, Rows(1, 3, 1f), Rows(1, 3, 2f));
        Assert.Equal(3, length);
        Assert.Equal(40, keys.Shape[1]);   // not 16: decoding up to 40 positions never copies the cache
        cache.Append(1, Rows(1, 3, 1f), Rows(1, 3, 2f));
        cache.Advance(3);
        var (grown, _, _) = cache.Append(0, Rows(1, 40, 3f), Rows(1, 40, 4f));
        Assert.Equal(80, grown.Shape[1]);
        Assert.Equal(1f, grown.Span[0]);                // the past is copied over
        Assert.Equal(3f, grown.Span[3 * Width]);        // and the new rows follow it

        using var unreserved = new KvCache(1);
        Assert.Equal(16, unreserved.Append(0, Rows(1, 3, 1f), Rows(1, 3, 2f)).Keys.Shape[1]);
    }

    [Fact]
    public void RowsThatJoinAfterAReservationFitTheStorageMadeForThem()
    {
        using var pass = new KvCache(1, scoped: false);   // a first pass of three rows; their texts (2, 5, 3) end at position 5
        var keys = Tensor.Zeros(3, 5, Width);
        for (int i = 0; i < keys.Length; i++) keys.Span[i] = i;
        pass.Append(0, keys, Rows(3, 5, 2f));
        pass.Advance(5);

        using var batch = new KvCache(1);
        batch.Reserve(pass, rows: 3, text: 20);
        foreach (var (row, text) in new[] { (1, 5), (2, 3), (0, 2) }) batch.AddRow(new CacheRow(pass, row, text));
        batch.MakeRoom(1);
        var (stored, _, length) = batch.Append(0, Rows(3, 1, -1f), Rows(3, 1, -2f));

        Assert.Equal(3, batch.Rows);
        Assert.Equal(6, length);
        Assert.Equal(20, stored.Shape[1]);   // the reserved length: neither the joins nor the next step grew it (unreserved: 16)
        int row0 = 2;                        // the third to join: pass row 0, its 2 positions end at 5
        Assert.Equal(keys.Span[(0 * 5 + 3) * Width], stored.Span[(row0 * 20 + 3) * Width]);
        Assert.Equal(-1f, stored.Span[(row0 * 20 + 5) * Width]);
    }

    [Fact]
    public void DisposeGivesTheStorageBackAndItsViewsThrowWhenRead()
    {
        var cache = new KvCache(1) { ReservedLength = 4 };
        var (keys, values, _) = cache.Append(0, Rows(1, 2, 1f), Rows(1, 2, 2f));
        cache.Dispose();
        Assert.Throws<InvalidOperationException>(() => keys.ToArray());
        Assert.Throws<InvalidOperationException>(() => values.ToArray());
        cache.Dispose();   // twice: nothing left to give back
    }
}
