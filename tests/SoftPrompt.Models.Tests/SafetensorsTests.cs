using System.Text;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

public sealed class SafetensorsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Tensor T(float[] values, params int[] shape) => Tensor.FromArray(values, shape);

    [Fact]
    public void RoundTripsFloat32WithMetadata()
    {
        string path = Path.Combine(_dir, "a.safetensors");
        var a = T([1f, -2.5f, 3f, 1e-30f, float.MaxValue, -0f], 2, 3);
        var b = T([7f], 1);
        SafetensorsWriter.Write(path, [new("a", a), new("b", b)], new Dictionary<string, string> { ["format"] = "pt" });
        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal([2, 3], f.Entry("a").Shape);
        Assert.Equal(a.ToArray(), f.LoadTensor("a").ToArray());
        Assert.Equal([7f], f.LoadTensor("b").ToArray());
        Assert.Equal(0UL, BitConverter.ToUInt64(File.ReadAllBytes(path), 0) % 8);   // data region 8-byte aligned
        Assert.False(File.Exists(path + $".tmp-{Environment.ProcessId}"));
    }

    [Theory]
    [InlineData(SafetensorsDtype.F16)]
    [InlineData(SafetensorsDtype.BF16)]
    public void HalfPrecisionWidensExactlyWhereRepresentable(SafetensorsDtype dtype)
    {
        string path = Path.Combine(_dir, "h.safetensors");
        float[] exact = [0f, 1f, -2f, 0.5f, 1.5f, -0.25f, 8f, 0.125f];
        SafetensorsWriter.Write(path, [new("x", T(exact, 8))], dtype: dtype);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(dtype, f.Entry("x").Dtype);
        Assert.Equal(exact, f.LoadTensor("x").ToArray());
        Assert.Equal(16, f.Bytes("x").Length);
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        // 1 + 2⁻⁸ is halfway between bf16 neighbours 1 and 1 + 2⁻⁷: ties go to the even one (1).
        Assert.Equal(0x3F80, SafetensorsWriter.ToBFloat16(1f + 1f / 256));
        // 1 + 3·2⁻⁸ is halfway between 1 + 2⁻⁷ (odd) and 1 + 2⁻⁶ (even): goes up.
        Assert.Equal(0x3F82, SafetensorsWriter.ToBFloat16(1f + 3f / 256));
        Assert.True(float.IsNaN(BitConverter.UInt32BitsToSingle((uint)SafetensorsWriter.ToBFloat16(float.NaN) << 16)));
    }

    [Fact]
    public void ReadsFilesWrittenByThePythonFixtureScript()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "tensors");
        var files = Directory.GetFiles(dir, "*.safetensors");
        Assert.NotEmpty(files);
        int tensors = 0;
        foreach (string file in files)
        {
            using var f = SafetensorsFile.Open(file);
            foreach (var e in f.Entries.Values.Where(e => e.Dtype == SafetensorsDtype.F32))
            {
                var t = f.LoadTensor(e.Name);
                Assert.Equal(e.ElementCount, t.Length);
                Assert.All(t.ToArray(), v => Assert.False(float.IsNaN(v)));
                tensors++;
            }
        }
        Assert.True(tensors > 100);
    }

    /// <summary>Writes a file with a hand-made header over <paramref name="dataBytes"/> zero bytes.</summary>
    string Raw(string header, int dataBytes, ulong? headerLength = null)
    {
        string path = Path.Combine(_dir, "raw.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes(headerLength ?? (ulong)json.Length));
        fs.Write(json);
        fs.Write(new byte[dataBytes]);
        return path;
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 8, null, null)]   // valid control
    [InlineData("""{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}""", 8, null, "dtype")]
    [InlineData("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, null, "needs 12 bytes")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}""", 8, null, "outside the data region")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, null, "overlaps")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 8, null, "belong to no tensor")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 8, null, "data region holds 8")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, null, "non-negative")]
    [InlineData("""{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}""", 8, null, "non-negative int32")]
    [InlineData("""{"w":{"dtype":"F32","shape":[2],"data_offsets":["0",8]}}""", 8, null, "two integers")]
    [InlineData("""{"w": """, 0, null, "not valid JSON")]
    [InlineData("""{}""", 0, 1_000_000_000UL, "header length")]
    public void MalformedHeadersAreClearErrors(string header, int dataBytes, ulong? headerLength, string? expected)
    {
        string path = Raw(header, dataBytes, headerLength);
        if (expected is null)
        {
            using var ok = SafetensorsFile.Open(path);
            Assert.Equal(2, ok.LoadTensor("w").Length);
            return;
        }
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
        if (header.Contains("\"w\":{")) Assert.Contains("'", e.Message);
    }

    [Fact]
    public void ShardedCheckpointsFollowTheIndex()
    {
        SafetensorsWriter.Write(Path.Combine(_dir, "model-00001-of-00002.safetensors"), [new("a.weight", T([1f, 2f], 2))]);
        SafetensorsWriter.Write(Path.Combine(_dir, "model-00002-of-00002.safetensors"), [new("b.weight", T([3f], 1))]);
        File.WriteAllText(Path.Combine(_dir, "model.safetensors.index.json"),
            """{"metadata":{"total_size":12},"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b.weight":"model-00002-of-00002.safetensors"}}""");
        using (var ckpt = SafetensorsCheckpoint.Open(_dir))
        {
            Assert.Equal(["a.weight", "b.weight"], ckpt.TensorNames.Order());
            Assert.Equal([3f], ckpt.LoadTensor("b.weight").ToArray());
            var missing = Assert.Throws<SafetensorsException>(() => ckpt.LoadTensor("c.weight"));
            Assert.Contains("c.weight", missing.Message);
        }
        File.WriteAllText(Path.Combine(_dir, "model.safetensors.index.json"),
            """{"weight_map":{"a.weight":"model-00002-of-00002.safetensors"}}""");
        var wrong = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(_dir).Dispose());
        Assert.Contains("'a.weight'", wrong.Message);
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileIntact()
    {
        string path = Path.Combine(_dir, "keep.safetensors");
        SafetensorsWriter.Write(path, [new("x", T([1f], 1))]);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(path, [new("x", T([2f], 1)), new("x", T([3f], 1))]));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void MissingCheckpointNamesTheDirectory()
    {
        var e = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(_dir));
        Assert.Contains(_dir, e.Message);
    }
}
