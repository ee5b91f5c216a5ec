using System.Text.Json;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Models.Safetensors;

/// <summary>
/// The weights of a Hugging Face checkpoint directory: <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c> (its <c>weight_map</c> names the shard of every tensor).
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);
    readonly List<SafetensorsFile> _files = [];

    public string Directory { get; }

    SafetensorsCheckpoint(string directory) => Directory = directory;

    public static SafetensorsCheckpoint Open(string directory)
    {
        var ckpt = new SafetensorsCheckpoint(directory);
        try
        {
            string single = Path.Combine(directory, "model.safetensors");
            string index = Path.Combine(directory, "model.safetensors.index.json");
            if (File.Exists(index)) ckpt.OpenShards(index);
            else if (File.Exists(single)) ckpt.Add(SafetensorsFile.Open(single));
            else throw new SafetensorsException($"{directory}: neither model.safetensors nor model.safetensors.index.json is there.");
            return ckpt;
        }
        catch
        {
            ckpt.Dispose();
            throw;
        }
    }

    void OpenShards(string index)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(index)); }
        catch (JsonException e) { throw new SafetensorsException($"{index}: not valid JSON ({e.Message})."); }
        using (doc)
        try
        {
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new SafetensorsException($"{index}: missing the weight_map object.");
            var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                string? shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                if (string.IsNullOrEmpty(shard) || shard.Contains('/') || shard.Contains('\\'))
                    throw new SafetensorsException($"{index}: weight_map entry '{entry.Name}' names no valid shard file.");
                if (!shards.TryGetValue(shard, out var file))
                {
                    file = SafetensorsFile.Open(Path.Combine(Directory, shard));
                    shards[shard] = file;
                    _files.Add(file);
                }
                if (!file.Entries.ContainsKey(entry.Name))
                    throw new SafetensorsException($"{index}: tensor '{entry.Name}' is mapped to {shard}, which does not hold it.");
                _byTensor[entry.Name] = file;
            }
        }
        catch (InvalidOperationException e) { throw new SafetensorsException($"{index}: a name is not valid text ({e.Message})."); }
    }

    void Add(SafetensorsFile file)
    {
        _files.Add(file);
        foreach (var name in file.Entries.Keys) _byTensor[name] = file;
    }

    public IEnumerable<string> TensorNames => _byTensor.Keys;

    public bool Contains(string name) => _byTensor.ContainsKey(name);

    public SafetensorsEntry Entry(string name) => FileOf(name).Entry(name);

    public Tensor LoadTensor(string name) => FileOf(name).LoadTensor(name);

    /// <summary>Loads a weight the model requires, checking that it exists and has the shape the config implies.</summary>
    public Tensor LoadWeight(string name, params int[] shape)
    {
        CheckWeight(name, shape);
        return LoadTensor(name);
    }

    /// <summary>
    /// Loads a frozen weight matrix the model requires, checked as <see cref="LoadWeight"/>, keeping the
    /// stored dtype: BF16/F16 stay 16-bit (widened only inside the GEMM), F32 is a float32 tensor.
    /// </summary>
    public FrozenWeight LoadFrozen(string name, params int[] shape) => LoadFrozen(name, WeightStorage.AsStored, shape);

    /// <summary>As <see cref="LoadFrozen(string, int[])"/>; <see cref="WeightStorage.BFloat16"/> holds a float32 checkpoint in bf16.</summary>
    public FrozenWeight LoadFrozen(string name, WeightStorage storage, params int[] shape)
    {
        if (shape.Length != 2) throw new ArgumentException($"LoadFrozen: '{name}' must be a matrix [rows, cols], asked for {Tensor.Format(shape)}.", nameof(shape));
        CheckWeight(name, shape);
        return FileOf(name).LoadFrozen(name, storage);
    }

    void CheckWeight(string name, int[] shape)
    {
        if (!Contains(name)) throw new SafetensorsException($"{Directory}: weight '{name}' is missing.");
        var e = Entry(name);
        if (!e.Shape.SequenceEqual(shape))
            throw new SafetensorsException($"{Directory}: weight '{name}' has shape {Tensor.Format(e.Shape)}, config.json implies {Tensor.Format(shape)}.");
    }

    SafetensorsFile FileOf(string name) =>
        _byTensor.TryGetValue(name, out var f) ? f : throw new SafetensorsException($"{Directory}: the checkpoint has no tensor named '{name}'.");

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
        _files.Clear();
    }
}
