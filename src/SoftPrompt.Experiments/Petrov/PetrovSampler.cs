using SoftPrompt.Tensors;

namespace SoftPrompt.Experiments.Petrov;

/// <summary>
/// An endless, seeded stream of training examples: each row picks one of <see cref="Tasks"/> uniformly
/// (no draw when there is one task; setup 2 mixes four with no task marker) and a training-split
/// sequence (test-split draws are redrawn). Its state is the generator's, so a checkpoint resumes the
/// exact stream.
/// </summary>
public sealed class PetrovSampler
{
    readonly Rng _rng;

    public IReadOnlyList<PetrovTask> Tasks { get; }

    public PetrovSampler(IReadOnlyList<PetrovTask> tasks, ulong seed)
    {
        if (tasks.Count == 0) throw new ArgumentException("The sampler needs at least one task.", nameof(tasks));
        Tasks = [.. tasks];
        _rng = new Rng(seed);
    }

    public PetrovExample NextExample()
    {
        var task = Tasks.Count == 1 ? Tasks[0] : Tasks[_rng.NextInt(Tasks.Count)];
        Span<int> digits = stackalloc int[DigitSequences.Length];
        do DigitSequences.Sample(_rng, digits); while (TestSplit.IsTest(digits));
        return PetrovExample.Create(task, digits);
    }

    /// <summary>A batch of <paramref name="rows"/> fresh examples, each after <paramref name="padding"/> zero pad tokens.</summary>
    public PetrovBatch NextBatch(int rows, int padding = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        var examples = new PetrovExample[rows];
        for (int i = 0; i < rows; i++) examples[i] = NextExample();
        return PetrovBatch.From(examples, padding);
    }

    public ulong[] GetState() => _rng.GetState();
    public void SetState(ReadOnlySpan<ulong> state) => _rng.SetState(state);

    /// <summary>
    /// <paramref name="count"/> test-split examples of <paramref name="task"/>, the same for a given seed
    /// (drawn with replacement from the ~25% test split, as the authors sample their test sets).
    /// </summary>
    public static IReadOnlyList<PetrovExample> TestSet(PetrovTask task, int count, ulong seed = 0x7e57)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new Rng(seed);
        var items = new PetrovExample[count];
        Span<int> digits = stackalloc int[DigitSequences.Length];
        for (int i = 0; i < count; i++)
        {
            do DigitSequences.Sample(rng, digits); while (!TestSplit.IsTest(digits));
            items[i] = PetrovExample.Create(task, digits);
        }
        return items;
    }
}
