using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Safetensors;

/// <summary>
/// Parses and validates a safetensors JSON header, streaming over the mapped bytes (no copy of the
/// header, no document tree), so that what an open allocates is the entries themselves. Checks:
/// UTF-8, JSON well formed (depth ≤ 64, nothing after the object), each name once, dtypes known,
/// shapes of non-negative int32 whose element count does not overflow, element count × dtype size
/// = byte length, offsets in bounds, and the tensors tiling the data region (sorted, no overlap,
/// no hole). Every failure is a <see cref="SafetensorsException"/> naming the file and the tensor.
/// </summary>
internal static class SafetensorsHeader
{
    const int MaxDepth = 64;

    public static (Dictionary<string, SafetensorsEntry> Entries, Dictionary<string, string> Metadata) Parse(string path, ReadOnlySpan<byte> json, long dataLength)
    {
        if (!Utf8.IsValid(json)) throw new SafetensorsException($"{path}: the header is not valid UTF-8.");
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new SafetensorsException($"{path}: the header must be a JSON object.");
            var shape = new List<int>();
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                if (name == "__metadata__")
                {
                    if (metadata.Count > 0) throw new SafetensorsException($"{path}: __metadata__ appears twice.");
                    ParseMetadata(path, ref reader, metadata);
                    continue;
                }
                if (entries.ContainsKey(name)) throw new SafetensorsException($"{path}: tensor '{name}' appears twice in the header.");
                entries[name] = ParseEntry(path, name, ref reader, dataLength, shape);
            }
            if (reader.Read()) throw new SafetensorsException($"{path}: the header has content after its JSON object.");
        }
        catch (JsonException e) { throw new SafetensorsException($"{path}: the header is not valid JSON ({e.Message})."); }
        catch (InvalidOperationException e) { throw new SafetensorsException($"{path}: the header holds a string that is not valid text ({e.Message})."); }
        CheckTiling(path, entries, dataLength);
        return (entries, metadata);
    }

    static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw new JsonException("the header ends inside an object");
        return reader.TokenType;
    }

    static void ParseMetadata(string path, ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new SafetensorsException($"{path}: __metadata__ must be an object of strings.");
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            if (Next(ref reader) != JsonTokenType.String) throw new SafetensorsException($"{path}: __metadata__ value '{key}' is not a string.");
            metadata[key] = reader.GetString()!;
        }
    }

    static SafetensorsEntry ParseEntry(string path, string name, ref Utf8JsonReader reader, long dataLength, List<int> shape)
    {
        // Error prefix, built only on failure (a header may hold many thousands of entries).
        string where() => $"{path}: tensor '{name}'";
        if (reader.TokenType != JsonTokenType.StartObject) throw new SafetensorsException($"{where()}: entry must be an object.");
        SafetensorsDtype? dtype = null;
        string dtypeText = "(none)";
        bool haveShape = false, haveOffsets = false;
        long begin = 0, end = 0;
        shape.Clear();
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("dtype"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && SafetensorsDtypes.TryParse(ref reader, out var d)) dtype = d;
                else { dtype = null; dtypeText = Describe(ref reader); }
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray) throw new SafetensorsException($"{where()}: missing shape.");
                shape.Clear();
                while (Next(ref reader) != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int v) || v < 0)
                        throw new SafetensorsException($"{where()}: shape entry {Describe(ref reader)} is not a non-negative int32.");
                    shape.Add(v);
                }
                haveShape = true;
            }
            else if (reader.ValueTextEquals("data_offsets"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray
                    || Next(ref reader) != JsonTokenType.Number || !reader.TryGetInt64(out begin)
                    || Next(ref reader) != JsonTokenType.Number || !reader.TryGetInt64(out end)
                    || Next(ref reader) != JsonTokenType.EndArray)
                    throw new SafetensorsException($"{where()}: data_offsets must be two integers.");
                haveOffsets = true;
            }
            else
            {
                reader.Read();
                reader.Skip();   // fields this reader does not know are allowed
            }
        }
        if (dtype is null) throw new SafetensorsException($"{where()}: unknown or missing dtype {dtypeText}.");
        if (!haveShape) throw new SafetensorsException($"{where()}: missing shape.");
        if (!haveOffsets) throw new SafetensorsException($"{where()}: data_offsets must be two integers.");
        if (begin < 0 || end < begin || end > dataLength)
            throw new SafetensorsException($"{where()}: data_offsets [{begin}, {end}) are outside the data region of {dataLength} bytes.");
        int[] dims = shape.ToArray();
        // Element count without overflow: a count above the data region's length is wrong anyway.
        long count = 1;
        if (!dims.Contains(0))
            foreach (int s in dims)
            {
                count *= s;
                if (count > dataLength) throw new SafetensorsException($"{where()}: shape {Tensor.Format(dims)} has more elements than the data region holds bytes ({dataLength}).");
            }
        else count = 0;
        long expect = count * SafetensorsDtypes.Size(dtype.Value);
        if (expect != end - begin)
            throw new SafetensorsException($"{where()}: shape {Tensor.Format(dims)} of {dtype} needs {expect} bytes but data_offsets span {end - begin}.");
        return new SafetensorsEntry(name, dtype.Value, dims, begin, end);
    }

    /// <summary>Offsets must tile the data region: sorted, no overlap, no hole, nothing past the end.</summary>
    static void CheckTiling(string path, Dictionary<string, SafetensorsEntry> entries, long dataLength)
    {
        var sorted = entries.Values.ToArray();
        Array.Sort(sorted, static (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long at = 0;
        string last = "(none)";
        foreach (var e in sorted)
        {
            if (e.Begin < at) throw new SafetensorsException($"{path}: tensor '{e.Name}' [{e.Begin}, {e.End}) overlaps the tensor before it (which ends at {at}).");
            if (e.Begin > at) throw new SafetensorsException($"{path}: bytes [{at}, {e.Begin}) before tensor '{e.Name}' belong to no tensor.");
            at = e.End;
            last = e.Name;
        }
        if (at != dataLength) throw new SafetensorsException($"{path}: tensors end at byte {at} (last: '{last}') but the data region holds {dataLength}.");
    }

    /// <summary>The current value for an error message (a container is skipped and named by its kind), at most 40 characters.</summary>
    static string Describe(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartArray: reader.Skip(); return "(an array)";
            case JsonTokenType.StartObject: reader.Skip(); return "(an object)";
        }
        byte[] raw = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan.ToArray();
        string text = Encoding.UTF8.GetString(raw);
        if (reader.TokenType == JsonTokenType.String) text = $"\"{text}\"";
        return text.Length <= 40 ? text : text[..40] + "…";
    }
}
