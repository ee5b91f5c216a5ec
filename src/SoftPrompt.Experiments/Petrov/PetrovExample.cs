namespace SoftPrompt.Experiments.Petrov;

/// <summary>One example: <see cref="Tokens"/> = 10 input digits followed by the task's 10 output tokens.</summary>
public sealed record PetrovExample(PetrovTask Task, int[] Tokens)
{
    public const int InputLength = DigitSequences.Length;
    public const int OutputLength = DigitSequences.Length;
    public const int TotalLength = InputLength + OutputLength;

    public ReadOnlySpan<int> Input => Tokens.AsSpan(0, InputLength);
    public ReadOnlySpan<int> Output => Tokens.AsSpan(InputLength, OutputLength);

    public static PetrovExample Create(PetrovTask task, ReadOnlySpan<int> input)
    {
        var tokens = new int[TotalLength];
        input.CopyTo(tokens);
        PetrovTasks.Apply(task, input, tokens.AsSpan(InputLength));
        return new PetrovExample(task, tokens);
    }
}
