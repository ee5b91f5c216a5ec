using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Safetensors;

/// <summary>
/// Writes safetensors files. The file is written next to its destination under a temporary name
/// and renamed into place, so a failure never leaves a half-written file and never harms the old one.
/// </summary>
public static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> in the given order as <paramref name="dtype"/> (F32, F16 or BF16).</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, SafetensorsDtype dtype = SafetensorsDtype.F32)
    {
        if (dtype is not (SafetensorsDtype.F32 or SafetensorsDtype.F16 or SafetensorsDtype.BF16))
            throw new ArgumentException($"Writing {dtype} is not supported; use F32, F16 or BF16.", nameof(dtype));
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in list)
        {
            if (name == "__metadata__" || !names.Add(name))
                throw new ArgumentException($"{path}: tensor name '{name}' is reserved or repeated.");
        }
        int size = SafetensorsDtypes.Size(dtype);
        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long at = 0;
        foreach (var (name, t) in list)
        {
            long bytes = (long)t.Length * size;
            header[name] = new { dtype = dtype.ToString(), shape = t.Shape.ToArray(), data_offsets = new[] { at, at + bytes } };
            at += bytes;
        }
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;               // the data region starts 8-byte aligned
        string tmp = $"{path}.tmp-{Environment.ProcessId}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
                fs.Write(len);
                fs.Write(json);
                for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
                foreach (var (_, t) in list) WriteData(fs, t.Span, dtype);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    static void WriteData(Stream s, ReadOnlySpan<float> data, SafetensorsDtype dtype)
    {
        if (dtype == SafetensorsDtype.F32) { s.Write(MemoryMarshal.AsBytes(data)); return; }
        var buf = new ushort[Math.Min(data.Length, 1 << 16)];
        for (int start = 0; start < data.Length; start += buf.Length)
        {
            var chunk = data.Slice(start, Math.Min(buf.Length, data.Length - start));
            var dst = buf.AsSpan(0, chunk.Length);
            if (dtype == SafetensorsDtype.F16)
                System.Numerics.Tensors.TensorPrimitives.ConvertToHalf(chunk, MemoryMarshal.Cast<ushort, Half>(dst));
            else
                for (int i = 0; i < chunk.Length; i++) dst[i] = ToBFloat16(chunk[i]);
            s.Write(MemoryMarshal.AsBytes(dst));
        }
    }

    /// <summary>float32 → bfloat16 with round-to-nearest-even (NaN stays NaN), as PyTorch converts.</summary>
    internal static ushort ToBFloat16(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }
}
