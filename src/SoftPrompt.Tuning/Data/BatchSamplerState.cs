using System.Text.Json;
using System.Text.Json.Serialization;

namespace SoftPrompt.Tuning.Data;

/// <summary>
/// Where a <see cref="BatchSampler"/> stands: Epoch (0-based), Position (batches already taken from it),
/// and the RNG state from just before that epoch's shuffle — with it the epoch's order is rebuilt
/// exactly, and the generator ends where it was. The configuration is kept so that a state is never
/// applied to a sampler over another dataset or batch size.
/// </summary>
public sealed record BatchSamplerState(
    [property: JsonPropertyName("epoch")] int Epoch,
    [property: JsonPropertyName("position")] int Position,
    [property: JsonPropertyName("rng_state")] ulong[] EpochRngState,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("batch_size")] int BatchSize,
    [property: JsonPropertyName("shuffle")] bool Shuffle,
    [property: JsonPropertyName("drop_last")] bool DropLast)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static BatchSamplerState FromJson(string json)
    {
        BatchSamplerState? s;
        try { s = JsonSerializer.Deserialize<BatchSamplerState>(json); }
        catch (JsonException e) { throw new DataFormatException($"batch sampler state: not valid JSON ({e.Message})."); }
        if (s is null || s.EpochRngState is null || s.EpochRngState.Length != 4)
            throw new DataFormatException("batch sampler state: needs epoch, position, rng_state (4 words), count, batch_size, shuffle, drop_last.");
        return s;
    }
}
