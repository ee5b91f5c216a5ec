namespace SoftPrompt.Experiments.Petrov;

/// <summary>The synthetic tasks of Petrov, Torr and Bibi (2023): each maps 10 input digits to 10 output digits.</summary>
public enum PetrovTask
{
    SortAscending,
    SortDescending,
    /// <summary>Every digit plus one (0–7 become 1–8).</summary>
    AddOne,
    /// <summary>Every digit plus two (0–7 become 2–9): the reason the vocabulary has 10 tokens.</summary>
    AddTwo,
    /// <summary>Sort ascending, then add one: a composition of two pretrained skills.</summary>
    SortAscendingAddOne,
    /// <summary>Every digit replaced by how many times its value occurs in the sequence (1–9; see <see cref="DigitSequences"/>).</summary>
    Histogram,
}

/// <summary>The target of each <see cref="PetrovTask"/>.</summary>
public static class PetrovTasks
{
    /// <summary>The four tasks setups 2–4 pretrain on.</summary>
    public static IReadOnlyList<PetrovTask> Pretrained { get; } =
        [PetrovTask.SortAscending, PetrovTask.SortDescending, PetrovTask.AddOne, PetrovTask.AddTwo];

    // input: 10 digits in 0–7 -> output: 10 tokens in 0–9
    public static void Apply(PetrovTask task, ReadOnlySpan<int> input, Span<int> output)
    {
        if (input.Length != output.Length) throw new ArgumentException($"{task}: input has {input.Length} digits, output room for {output.Length}.");
        input.CopyTo(output);
        switch (task)
        {
            case PetrovTask.SortAscending: output.Sort(); break;
            case PetrovTask.SortDescending: output.Sort(); output.Reverse(); break;
            case PetrovTask.AddOne: Add(output, 1); break;
            case PetrovTask.AddTwo: Add(output, 2); break;
            case PetrovTask.SortAscendingAddOne: output.Sort(); Add(output, 1); break;
            case PetrovTask.Histogram:
                for (int i = 0; i < input.Length; i++) output[i] = input.Count(input[i]);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(task), task, null);
        }
    }

    static void Add(Span<int> xs, int k)
    {
        for (int i = 0; i < xs.Length; i++) xs[i] += k;
    }

    /// <summary>The command-line / JSON name of a task (ascending, descending, add1, add2, ascending_add1, histogram).</summary>
    public static string Name(PetrovTask task) => task switch
    {
        PetrovTask.SortAscending => "ascending",
        PetrovTask.SortDescending => "descending",
        PetrovTask.AddOne => "add1",
        PetrovTask.AddTwo => "add2",
        PetrovTask.SortAscendingAddOne => "ascending_add1",
        PetrovTask.Histogram => "histogram",
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, null),
    };

    public static PetrovTask Parse(string name)
    {
        foreach (var t in Enum.GetValues<PetrovTask>())
            if (Name(t) == name) return t;
        throw new ArgumentException($"Unknown task '{name}' (known: {string.Join(", ", Enum.GetValues<PetrovTask>().Select(Name))}).");
    }
}
