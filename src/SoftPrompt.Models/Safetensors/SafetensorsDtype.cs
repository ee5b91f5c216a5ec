namespace SoftPrompt.Models.Safetensors;

/// <summary>The element types of the safetensors format that SoftPrompt reads and writes.</summary>
public enum SafetensorsDtype { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool }

internal static class SafetensorsDtypes
{
    /// <summary>The dtype named by the current JSON string token: exact safetensors names only ("BOOL", not "3" or "F16,BF16").</summary>
    public static bool TryParse(ref System.Text.Json.Utf8JsonReader reader, out SafetensorsDtype dtype)
    {
        foreach (var (name, d) in Names)
            if (reader.ValueTextEquals(name)) { dtype = d; return true; }
        dtype = default;
        return false;
    }

    static readonly (string Name, SafetensorsDtype Dtype)[] Names =
    [
        ("F32", SafetensorsDtype.F32), ("F16", SafetensorsDtype.F16), ("BF16", SafetensorsDtype.BF16), ("F64", SafetensorsDtype.F64),
        ("I64", SafetensorsDtype.I64), ("I32", SafetensorsDtype.I32), ("I16", SafetensorsDtype.I16), ("I8", SafetensorsDtype.I8),
        ("U8", SafetensorsDtype.U8), ("BOOL", SafetensorsDtype.Bool),
    ];

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
