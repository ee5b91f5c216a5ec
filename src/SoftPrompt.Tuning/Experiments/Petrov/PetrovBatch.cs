namespace SoftPrompt.Tuning.Experiments.Petrov;

/// <summary>
/// Examples as next-token training rows: the model reads the first 19 tokens of each example and is
/// scored only where the next token is an output token: positions 9–18 predict tokens 10–19, so
/// <see cref="Targets"/> holds those 10 a row.
/// </summary>
public sealed record PetrovBatch(int Rows, int[] Inputs, int[] Targets)
{
    /// <summary>Tokens a row feeds the model: input + output − 1 (the last output token is only predicted).</summary>
    public const int SequenceLength = PetrovExample.TotalLength - 1;

    /// <summary>The first position whose prediction is scored (it predicts the first output token).</summary>
    public const int FirstOutput = PetrovExample.InputLength - 1;

    /// <summary>Scored predictions a row: positions FirstOutput … SequenceLength − 1.</summary>
    public const int Outputs = SequenceLength - FirstOutput;

    // examples: N -> Inputs: N·19 ids, Targets: N·10 (the tokens positions 9–18 predict)
    public static PetrovBatch From(IReadOnlyList<PetrovExample> examples)
    {
        int n = examples.Count, t = SequenceLength;
        var inputs = new int[n * t];
        var targets = new int[n * Outputs];
        for (int r = 0; r < n; r++)
        {
            var tokens = examples[r].Tokens;
            for (int i = 0; i < t; i++) inputs[r * t + i] = tokens[i];
            for (int i = 0; i < Outputs; i++) targets[r * Outputs + i] = tokens[FirstOutput + 1 + i];
        }
        return new PetrovBatch(n, inputs, targets);
    }
}
