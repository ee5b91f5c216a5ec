using SoftPrompt.Tensors;

namespace SoftPrompt.Tuning.Data;

/// <summary>One batch: the example indices, its epoch and its index in the epoch.</summary>
public sealed record SampledBatch(int Epoch, int Index, int[] Indices);

/// <summary>
/// Batches of example indices, reshuffled every epoch by a Fisher–Yates shuffle driven by our seeded
/// <see cref="Rng"/> (the same seed gives the same batches on every machine). The last partial batch is
/// kept or dropped. <see cref="GetState"/> / <see cref="SetState"/> resume a run so that it yields exactly
/// the batches the uninterrupted run would have.
/// </summary>
public sealed class BatchSampler
{
    readonly Rng _rng;
    readonly int[] _order;
    ulong[] _epochRngState = [];

    public int Count { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int BatchesPerEpoch { get; }

    /// <summary>The epoch the next batch comes from, unless the current one is used up.</summary>
    public int Epoch { get; private set; }

    /// <summary>Batches already taken from the current epoch.</summary>
    public int Position { get; private set; }

    public BatchSampler(int count, int batchSize, ulong seed, bool shuffle = true, bool dropLast = false)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"BatchSampler: needs at least one example, got {count}.");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"BatchSampler: batch size must be positive, got {batchSize}.");
        Count = count; BatchSize = batchSize; Shuffle = shuffle; DropLast = dropLast;
        BatchesPerEpoch = dropLast ? count / batchSize : (count + batchSize - 1) / batchSize;
        if (BatchesPerEpoch == 0)
            throw new ArgumentException($"BatchSampler: {count} examples make no full batch of {batchSize} and the last partial batch is dropped.");
        _rng = new Rng(seed);
        _order = new int[count];
        StartEpoch(0);
    }

    void StartEpoch(int epoch)
    {
        Epoch = epoch; Position = 0;
        _epochRngState = _rng.GetState();
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        if (Shuffle) _rng.Shuffle(_order.AsSpan());
    }

    /// <summary>The next batch; after the epoch's last batch, a new epoch begins with a new order.</summary>
    public SampledBatch Next()
    {
        if (Position == BatchesPerEpoch) StartEpoch(Epoch + 1);
        int start = Position * BatchSize;
        int size = Math.Min(BatchSize, Count - start);
        var batch = new SampledBatch(Epoch, Position, _order.AsSpan(start, size).ToArray());
        Position++;
        return batch;
    }

    /// <summary>
    /// The remaining batches of the current epoch (all of them at its start); when the current epoch is
    /// used up, the whole next one. A trainer's epoch loop: <c>foreach (var b in sampler.RestOfEpoch())</c>.
    /// </summary>
    public IEnumerable<SampledBatch> RestOfEpoch()
    {
        if (Position == BatchesPerEpoch) StartEpoch(Epoch + 1);
        int epoch = Epoch;
        while (Epoch == epoch && Position < BatchesPerEpoch) yield return Next();
    }

    public BatchSamplerState GetState() => new(Epoch, Position, (ulong[])_epochRngState.Clone(), Count, BatchSize, Shuffle, DropLast);

    public void SetState(BatchSamplerState state)
    {
        if (state.Count != Count || state.BatchSize != BatchSize || state.Shuffle != Shuffle || state.DropLast != DropLast)
            throw new ArgumentException($"BatchSampler: the saved state is for {state.Count} examples in batches of {state.BatchSize} (shuffle {state.Shuffle}, drop last {state.DropLast}); " +
                $"this sampler has {Count}, {BatchSize}, {Shuffle}, {DropLast}.");
        if (state.Epoch < 0 || state.Position < 0 || state.Position > BatchesPerEpoch)
            throw new ArgumentException($"BatchSampler: saved position {state.Position} of epoch {state.Epoch} is outside 0..{BatchesPerEpoch}.");
        _rng.SetState(state.EpochRngState);
        StartEpoch(state.Epoch);
        Position = state.Position;
    }
}
