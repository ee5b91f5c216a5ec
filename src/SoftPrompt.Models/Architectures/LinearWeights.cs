using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Models.Architectures;

/// <summary>Reading a block's linear layer weight by its module path, for <see cref="ICausalLanguageModel.LinearWeight"/>.</summary>
internal static class LinearWeights
{
    /// <summary>"&lt;blockPrefix&gt;&lt;i&gt;.&lt;kind&gt;" → (i, kind); any other name, or a block past the model's, is an error naming it.</summary>
    public static (int Block, string Kind) Parse(string name, string blockPrefix, int blocks, string modelType)
    {
        if (name.StartsWith(blockPrefix, StringComparison.Ordinal) && name.IndexOf('.', blockPrefix.Length) is var dot and > 0
            && int.TryParse(name.AsSpan(blockPrefix.Length, dot - blockPrefix.Length), out int block) && block >= 0 && block < blocks)
            return (block, name[(dot + 1)..]);
        throw new ArgumentException($"'{name}' is not a linear layer of this {modelType} model (its layers are {blockPrefix}0…{blocks - 1}.<module>).", nameof(name));
    }

    /// <summary>
    /// parts: weights stored [in, out_k] (GPT-2's Conv1D, storedInOut) or [out_k, in] (nn.Linear) -> a new float32 [Σ out_k, in]:
    /// the layer's weight in PEFT's [out, in] orientation, its parts stacked by output (a fused q|k|v).
    /// </summary>
    public static Tensor Stack(bool storedInOut, params FrozenWeight[] parts)
    {
        int inFeatures = storedInOut ? parts[0].Rows : parts[0].Cols, outFeatures = parts.Sum(p => storedInOut ? p.Cols : p.Rows);
        var result = Tensor.ZerosOnHeap(outFeatures, inFeatures);
        var dst = result.Span;
        int row = 0;
        foreach (var part in parts)
        {
            var t = part.ToTensor();
            var src = t.Span;
            int rows = storedInOut ? part.Cols : part.Rows;
            if (!storedInOut) src.CopyTo(dst.Slice(row * inFeatures, rows * inFeatures));
            else
                for (int i = 0; i < inFeatures; i++)   // [in, out_k] -> rows row…row+out_k of [out, in]
                    for (int j = 0; j < rows; j++) dst[(row + j) * inFeatures + i] = src[i * rows + j];
            row += rows;
        }
        return result;
    }
}
