namespace SoftPrompt.Tensors.Weights;

/// <summary>How a <see cref="FrozenWeight"/> holds its elements. Compute is always float32.</summary>
public enum WeightDtype
{
    /// <summary>float32, wrapping a <see cref="Tensor"/> (4 bytes an element).</summary>
    F32,
    /// <summary>bfloat16: the top 16 bits of a float32 (2 bytes an element; widening is a 16-bit shift).</summary>
    BF16,
    /// <summary>IEEE 754 binary16 (2 bytes an element).</summary>
    F16,
}
