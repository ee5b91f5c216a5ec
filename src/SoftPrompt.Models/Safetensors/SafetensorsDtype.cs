namespace SoftPrompt.Models.Safetensors;

/// <summary>The element types of the safetensors format that SoftPrompt reads and writes.</summary>
public enum SafetensorsDtype { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool }

internal static class SafetensorsDtypes
{
    public static bool TryParse(string s, out SafetensorsDtype dtype) => Enum.TryParse(s, ignoreCase: false, out dtype) && Enum.IsDefined(dtype);

    public static int Size(SafetensorsDtype d) => d switch
    {
        SafetensorsDtype.F64 or SafetensorsDtype.I64 => 8,
        SafetensorsDtype.F32 or SafetensorsDtype.I32 => 4,
        SafetensorsDtype.F16 or SafetensorsDtype.BF16 or SafetensorsDtype.I16 => 2,
        _ => 1,
    };
}

/// <summary>A safetensors file or checkpoint is malformed; the message names the file and, where it applies, the tensor.</summary>
public sealed class SafetensorsException(string message) : Exception(message);
