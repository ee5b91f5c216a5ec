namespace SoftPrompt.Tuning.Data;

/// <summary>
/// Turns encoded examples into a <see cref="TokenBatch"/>: right padding with PadId to the longest row
/// (rounded up to PadToMultipleOf), the attention mask, and the answer positions with their targets.
/// Right padding keeps every row's positions 0.. as they were rendered, so soft slots need no shift.
/// </summary>
public sealed class Collator(int padId = 0, int padToMultipleOf = 1)
{
    public int PadId { get; } = padId;
    public int PadToMultipleOf { get; } = padToMultipleOf >= 1 ? padToMultipleOf
        : throw new ArgumentOutOfRangeException(nameof(padToMultipleOf), $"Collator: padToMultipleOf must be ≥ 1, got {padToMultipleOf}.");

    public TokenBatch Collate(IReadOnlyList<EncodedExample> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("Collator: an empty batch.");
        int seq = rows.Max(r => r.Ids.Length);
        if (seq == 0) throw new ArgumentException("Collator: every row of the batch is empty.");
        seq = (seq + PadToMultipleOf - 1) / PadToMultipleOf * PadToMultipleOf;
        var ids = new int[rows.Count * seq];
        var mask = new int[rows.Count * seq];
        Array.Fill(ids, PadId);
        var outputs = new List<int>();
        var targets = new List<int>();
        for (int b = 0; b < rows.Count; b++)
        {
            var r = rows[b];
            if (r.AnswerStart < 0 || r.AnswerStart + r.AnswerIds.Length != r.Ids.Length)
                throw new ArgumentException($"Collator: row {b} has {r.Ids.Length} ids, answer start {r.AnswerStart} and {r.AnswerIds.Length} answer ids; they must add up.");
            if (r.AnswerIds.Length > 0 && r.AnswerStart == 0)
                throw new ArgumentException($"Collator: row {b} has an answer at position 0; a causal LM predicts a token from the ones before it, so the prompt must not be empty.");
            r.Ids.CopyTo(ids, b * seq);
            mask.AsSpan(b * seq, r.Ids.Length).Fill(1);
            for (int k = 0; k < r.AnswerIds.Length; k++)
            {
                outputs.Add(b * seq + r.AnswerStart - 1 + k);
                targets.Add(r.AnswerIds[k]);
            }
        }
        return new TokenBatch(rows.Count, seq, ids, mask, rows.Select(r => r.SoftSlots).ToArray(), outputs.ToArray(), targets.ToArray());
    }
}
