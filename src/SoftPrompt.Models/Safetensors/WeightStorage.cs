namespace SoftPrompt.Models.Safetensors;

/// <summary>How <see cref="SafetensorsCheckpoint.LoadFrozen(string, WeightStorage, int[])"/> holds a frozen weight.</summary>
public enum WeightStorage
{
    /// <summary>The checkpoint's dtype: F32 as a float32 tensor, BF16 and F16 as their 16-bit patterns (no widening).</summary>
    AsStored,
    /// <summary>float32 whatever the checkpoint holds (16-bit weights widened at load: twice the memory).</summary>
    Float32,
    /// <summary>F32 narrowed to bf16 at load (round-to-nearest-even: half the memory); BF16 and F16 stay as stored.</summary>
    BFloat16,
}
