using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>A lookup table of <c>numEmbeddings</c> rows of size <c>embeddingDim</c>, initialised N(0, 1) as in PyTorch.</summary>
public sealed class Embedding : Module
{
    public int NumEmbeddings { get; }
    public int EmbeddingDim { get; }
    public Tensor Weight { get; }   // [num, dim]

    public Embedding(int numEmbeddings, int embeddingDim, Rng rng)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEmbeddings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDim);
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Weight = RegisterParameter("weight", Init.Normal(NewParameter(numEmbeddings, embeddingDim), rng));
    }

    // ids: [..] (idsShape; default [ids.Length]) -> [.., dim]
    public Tensor Forward(ReadOnlySpan<int> ids, params int[] idsShape) => Functional.Embedding(Weight, ids, idsShape);
}
