namespace SoftPrompt.Models.Architectures;

/// <summary>Position ids of the new tokens, as Hugging Face's generate() derives them from the attention mask.</summary>
public static class PositionIds
{
    /// <summary>
    /// Without a mask, row positions run past..past+seq-1. With a mask over the whole sequence
    /// (B·(past+seq), 1 = real token), a token's position is the count of real tokens before it
    /// (cumsum − 1), so left padding does not shift a prompt; padding positions get 1, as in HF.
    /// </summary>
    public static int[] For(int batch, int seq, int past, int[]? mask)
    {
        var positions = new int[batch * seq];
        int total = past + seq;
        if (mask is null)
        {
            for (int i = 0; i < positions.Length; i++) positions[i] = past + i % seq;
            return positions;
        }
        if (mask.Length != batch * total)
            throw new ArgumentException($"attention mask has {mask.Length} entries; expected batch {batch} × (cached {past} + new {seq}) = {batch * total}.");
        for (int b = 0; b < batch; b++)
        {
            int seen = 0;
            for (int t = 0; t < total; t++)
            {
                int m = mask[b * total + t];
                if (m != 0 && m != 1) throw new ArgumentException($"attention mask value {m} at row {b}, position {t} is not 0 or 1.");
                seen += m;
                if (t >= past) positions[b * seq + t - past] = m == 1 ? seen - 1 : 1;
            }
        }
        return positions;
    }
}
