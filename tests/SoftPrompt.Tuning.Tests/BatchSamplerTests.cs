using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Tests;

public class BatchSamplerTests
{
    [Fact]
    public void Every_epoch_is_a_permutation_in_batches()
    {
        var s = new BatchSampler(10, 4, seed: 7);
        Assert.Equal(3, s.BatchesPerEpoch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var batches = Enumerable.Range(0, 3).Select(_ => s.Next()).ToArray();
            Assert.All(batches, b => Assert.Equal(epoch, b.Epoch));
            Assert.Equal([4, 4, 2], batches.Select(b => b.Indices.Length));
            Assert.Equal(Enumerable.Range(0, 10), batches.SelectMany(b => b.Indices).Order());
        }
    }

    [Fact]
    public void Epochs_differ_and_seeds_reproduce()
    {
        var a = new BatchSampler(50, 50, seed: 1);
        var e0 = a.Next().Indices;
        var e1 = a.Next().Indices;
        Assert.NotEqual(e0, e1);
        Assert.Equal(e0, new BatchSampler(50, 50, seed: 1).Next().Indices);
        Assert.NotEqual(e0, new BatchSampler(50, 50, seed: 2).Next().Indices);
        // The order is our Rng's Fisher–Yates over 0..n-1.
        var expected = Enumerable.Range(0, 50).ToArray();
        new Rng(1).Shuffle(expected.AsSpan());
        Assert.Equal(expected, e0);
    }

    [Fact]
    public void Drop_last_and_no_shuffle()
    {
        var s = new BatchSampler(10, 4, seed: 3, shuffle: false, dropLast: true);
        Assert.Equal(2, s.BatchesPerEpoch);
        Assert.Equal([0, 1, 2, 3], s.Next().Indices);
        Assert.Equal([4, 5, 6, 7], s.Next().Indices);
        var next = s.Next();
        Assert.Equal((1, 0), (next.Epoch, next.Index));
        Assert.Equal([0, 1, 2, 3], next.Indices);
        Assert.Throws<ArgumentException>(() => new BatchSampler(3, 4, 0, dropLast: true));
    }

    [Fact]
    public void Rest_of_epoch_stops_at_the_epoch_end()
    {
        var s = new BatchSampler(10, 3, seed: 5);
        s.Next();
        Assert.Equal([1, 2, 3], s.RestOfEpoch().Select(b => b.Index));
        Assert.Equal(0, s.Epoch);
        Assert.Equal(1, s.RestOfEpoch().First().Epoch);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]   // saved exactly at an epoch's end
    [InlineData(7)]
    [InlineData(11)]
    public void Resumed_run_yields_the_same_batches(int stopAfter)
    {
        var straight = new BatchSampler(11, 4, seed: 42);
        var expected = Enumerable.Range(0, 15).Select(_ => straight.Next()).ToArray();

        var first = new BatchSampler(11, 4, seed: 42);
        var got = Enumerable.Range(0, stopAfter).Select(_ => first.Next()).ToList();
        string saved = first.GetState().ToJson();

        // A fresh process: another seed even, the state decides.
        var resumed = new BatchSampler(11, 4, seed: 999);
        resumed.SetState(BatchSamplerState.FromJson(saved));
        got.AddRange(Enumerable.Range(0, 15 - stopAfter).Select(_ => resumed.Next()));

        Assert.Equal(expected.Select(b => (b.Epoch, b.Index)), got.Select(b => (b.Epoch, b.Index)));
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i].Indices, got[i].Indices);
    }

    [Fact]
    public void State_for_another_configuration_is_refused()
    {
        var state = new BatchSampler(11, 4, seed: 1).GetState();
        Assert.Contains("11 examples", Assert.Throws<ArgumentException>(() => new BatchSampler(12, 4, 1).SetState(state)).Message);
        Assert.Throws<DataFormatException>(() => BatchSamplerState.FromJson("{\"epoch\": 1}"));
        Assert.Throws<DataFormatException>(() => BatchSamplerState.FromJson("nope"));
    }
}
