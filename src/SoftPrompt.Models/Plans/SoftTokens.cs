using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Plans;

/// <summary>
/// Virtual-token embeddings [n, D] that take the place of the input embeddings at positions
/// Position..Position+n-1 of a row (the ids there are placeholders). They get the positions of
/// the slots they fill, so prompt-tuning tokens spliced at 0..n-1 before the text sit at positions
/// 0..n-1 and the text at n.., as PEFT's concatenated inputs_embeds do.
/// </summary>
public sealed record SoftTokens(int Position, Tensor Embeddings)
{
    public int Count => Embeddings.Rank == 2 ? Embeddings.Shape[0] : 0;
}
