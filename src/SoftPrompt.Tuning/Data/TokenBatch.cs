namespace SoftPrompt.Tuning.Data;

/// <summary>
/// A right-padded batch, row-major [Batch, Seq]: Ids and AttentionMask (1 = real token, 0 = padding),
/// each row's soft slots, and the positions that carry a loss: OutputPositions are flat b·Seq+t indices
/// whose NEXT token is an answer token (t = AnswerStart−1 … AnswerStart+len−2) and Targets the answer ids
/// there, so the LM head and the cross-entropy run only at those rows of the hidden states.
/// </summary>
public sealed record TokenBatch(
    int Batch, int Seq, int[] Ids, int[] AttentionMask, IReadOnlyList<IReadOnlyList<SoftSlot>> SoftSlots,
    int[] OutputPositions, int[] Targets)
{
    /// <summary>Real (unpadded) tokens in the batch, for tokens/s.</summary>
    public int TokenCount => AttentionMask.Sum();
}
