using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace SoftPrompt.Tensors.Tests.Fixtures;

/// <summary>Thrown for a fixture file that is missing, malformed, or lacks a requested tensor; the message names the file and the tensor.</summary>
public sealed class FixtureException(string message) : Exception(message);

/// <summary>
/// Reader for the safetensors subset that tools/make_tensor_fixtures.py writes: an 8-byte
/// little-endian header length, a JSON header {name: {dtype: F32|I32|I64, shape, data_offsets}, __metadata__: {string: string}},
/// then raw little-endian data. Per-case parameters are JSON strings in __metadata__ under the case name.
/// </summary>
public sealed class FixtureFile
{
    sealed record Entry(string Dtype, int[] Shape, long Begin, long End);

    readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);
    readonly byte[] _data;
    readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata => _metadata;
    public IEnumerable<string> TensorNames => _entries.Keys;

    static readonly Dictionary<string, FixtureFile> Cache = new();

    /// <summary>The directory the test project copies tests/fixtures/tensors into.</summary>
    public static string Directory => System.IO.Path.Combine(AppContext.BaseDirectory, "fixtures", "tensors");

    /// <summary>Loads (once) fixtures/tensors/&lt;family&gt;.safetensors from the test output directory.</summary>
    public static FixtureFile Load(string family)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(family, out var f))
                Cache[family] = f = Read(System.IO.Path.Combine(Directory, family + ".safetensors"));
            return f;
        }
    }

    public static FixtureFile Read(string path) => new(path);

    FixtureFile(string path)
    {
        Path = path;
        if (!File.Exists(path)) throw new FixtureException($"{path}: fixture file not found (run /usr/bin/python3 tools/make_tensor_fixtures.py).");
        _data = File.ReadAllBytes(path);
        if (_data.Length < 8) throw new FixtureException($"{path}: {_data.Length} bytes is too short for a safetensors header length.");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(_data);
        if (headerLen > (ulong)(_data.Length - 8)) throw new FixtureException($"{path}: header length {headerLen} exceeds the file size {_data.Length}.");
        _dataStart = 8 + (long)headerLen;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(Encoding.UTF8.GetString(_data, 8, (int)headerLen)); }
        catch (JsonException e) { throw new FixtureException($"{path}: header is not valid JSON ({e.Message})."); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new FixtureException($"{path}: header is not a JSON object.");
            long dataLen = _data.Length - _dataStart;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new FixtureException($"{path}: metadata entry '{m.Name}' is not a string.");
                        _metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                _entries[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLen);
            }
        }
    }

    static Entry ParseEntry(string path, string name, JsonElement e, long dataLen)
    {
        try
        {
            string dtype = e.GetProperty("dtype").GetString() ?? "";
            if (dtype is not ("F32" or "I32" or "I64")) throw new FixtureException($"{path}: tensor '{name}' has unsupported dtype '{dtype}' (F32, I32, I64 are read).");
            int[] shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            var off = e.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (off.Length != 2) throw new FixtureException($"{path}: tensor '{name}' needs two data_offsets, got {off.Length}.");
            long count = 1;
            foreach (int s in shape)
            {
                if (s < 0) throw new FixtureException($"{path}: tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}].");
                count *= s;
            }
            int width = dtype == "I64" ? 8 : 4;
            if (off[0] < 0 || off[1] < off[0] || off[1] > dataLen)
                throw new FixtureException($"{path}: tensor '{name}' data_offsets [{off[0]}, {off[1]}] fall outside the {dataLen} data bytes.");
            if (off[1] - off[0] != count * width)
                throw new FixtureException($"{path}: tensor '{name}' has {off[1] - off[0]} bytes but shape [{string.Join(", ", shape)}] of {dtype} needs {count * width}.");
            return new Entry(dtype, shape, off[0], off[1]);
        }
        catch (KeyNotFoundException) { throw new FixtureException($"{path}: tensor '{name}' lacks dtype, shape or data_offsets."); }
        catch (InvalidOperationException ex) { throw new FixtureException($"{path}: tensor '{name}' has a malformed header entry ({ex.Message})."); }
        catch (FormatException ex) { throw new FixtureException($"{path}: tensor '{name}' has a malformed header entry ({ex.Message})."); }
    }

    public bool Has(string name) => _entries.ContainsKey(name);

    Entry Get(string name) =>
        _entries.TryGetValue(name, out var e) ? e : throw new FixtureException($"{Path}: no tensor named '{name}'.");

    public int[] Shape(string name) => (int[])Get(name).Shape.Clone();

    public string Dtype(string name) => Get(name).Dtype;

    /// <summary>An F32 tensor's values.</summary>
    public float[] Floats(string name)
    {
        var e = Get(name);
        if (e.Dtype != "F32") throw new FixtureException($"{Path}: tensor '{name}' is {e.Dtype}, not F32.");
        var span = _data.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        var r = new float[span.Length / 4];
        for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]);
        return r;
    }

    /// <summary>An I32 or I64 tensor's values as ints (I64 values must fit).</summary>
    public int[] Ints(string name)
    {
        var e = Get(name);
        var span = _data.AsSpan((int)(_dataStart + e.Begin), (int)(e.End - e.Begin));
        if (e.Dtype == "I32")
        {
            var r = new int[span.Length / 4];
            for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]);
            return r;
        }
        if (e.Dtype == "I64")
        {
            var r = new int[span.Length / 8];
            for (int i = 0; i < r.Length; i++)
            {
                long v = BinaryPrimitives.ReadInt64LittleEndian(span[(8 * i)..]);
                if (v < int.MinValue || v > int.MaxValue) throw new FixtureException($"{Path}: tensor '{name}' holds {v} at {i}, outside the int range.");
                r[i] = (int)v;
            }
            return r;
        }
        throw new FixtureException($"{Path}: tensor '{name}' is {e.Dtype}, not an integer tensor.");
    }

    /// <summary>A fresh tensor (no grad) holding an F32 fixture tensor.</summary>
    public Tensor Tensor(string name) => SoftPrompt.Tensors.Tensor.FromArray(Floats(name), Shape(name));

    /// <summary>The JSON parameters of one case (the metadata entry named after it).</summary>
    public JsonElement Params(string caseName)
    {
        if (!_metadata.TryGetValue(caseName, out var json)) throw new FixtureException($"{Path}: no metadata for case '{caseName}'.");
        try { return JsonDocument.Parse(json).RootElement.Clone(); }
        catch (JsonException e) { throw new FixtureException($"{Path}: metadata of case '{caseName}' is not valid JSON ({e.Message})."); }
    }

    /// <summary>Case names (metadata keys), optionally only those whose "op" parameter is one of <paramref name="ops"/>.</summary>
    public IEnumerable<string> Cases(params string[] ops) =>
        _metadata.Keys.Where(k => ops.Length == 0 || ops.Contains(Params(k).GetProperty("op").GetString())).OrderBy(k => k, StringComparer.Ordinal);
}
