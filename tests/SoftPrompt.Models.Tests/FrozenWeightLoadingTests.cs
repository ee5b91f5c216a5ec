using System.Runtime.InteropServices;
using System.Text;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Weights;

namespace SoftPrompt.Models.Tests;

/// <summary><see cref="SafetensorsCheckpoint.LoadFrozen(string, int[])"/>: stored dtype kept, F32 held as bf16 on request, LoadWeight's checks.</summary>
public sealed class FrozenWeightLoadingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-frozen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static Tensor Values(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var v = new float[rows * cols];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        return Tensor.FromArray(v, rows, cols);
    }

    /// <summary>A checkpoint directory whose model.safetensors holds "w" [3, 5] as <paramref name="dtype"/>.</summary>
    string Checkpoint(SafetensorsDtype dtype, string sub)
    {
        string dir = Path.Combine(_dir, sub);
        Directory.CreateDirectory(dir);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), [new("w", Values(3, 5, 1)), new("b", Tensor.FromArray([1f, 2f], 2))], dtype: dtype);
        return dir;
    }

    [Theory]
    [InlineData(SafetensorsDtype.F32, WeightDtype.F32)]
    [InlineData(SafetensorsDtype.BF16, WeightDtype.BF16)]
    [InlineData(SafetensorsDtype.F16, WeightDtype.F16)]
    public void KeepsTheStoredDtypeWithoutWidening(SafetensorsDtype stored, WeightDtype expected)
    {
        using var ckpt = SafetensorsCheckpoint.Open(Checkpoint(stored, stored.ToString()));
        var w = ckpt.LoadFrozen("w", 3, 5);
        Assert.Equal(expected, w.Dtype);
        Assert.Equal("w", w.Name);
        Assert.Equal(15L * (stored == SafetensorsDtype.F32 ? 4 : 2), w.SizeInBytes);
        if (stored != SafetensorsDtype.F32)
        {
            using var file = SafetensorsFile.Open(Path.Combine(ckpt.Directory, "model.safetensors"));
            Assert.Equal(MemoryMarshal.Cast<byte, ushort>(file.Bytes("w")).ToArray(), w.Bits.ToArray());
        }
        Assert.Equal(ckpt.LoadWeight("w", 3, 5).ToArray(), w.ToTensor().ToArray());   // same values as the widening loader
    }

    [Fact]
    public void Float32CheckpointCanBeHeldInBFloat16()
    {
        using var ckpt = SafetensorsCheckpoint.Open(Checkpoint(SafetensorsDtype.F32, "f32"));
        var w = ckpt.LoadFrozen("w", WeightStorage.BFloat16, 3, 5);
        Assert.Equal(WeightDtype.BF16, w.Dtype);
        Assert.Equal(30, w.SizeInBytes);
        var f32 = ckpt.LoadWeight("w", 3, 5).ToArray();
        Assert.Equal(f32.Select(SafetensorsWriter.ToBFloat16), w.Bits.ToArray());   // the writer's (and PyTorch's) rounding
        Assert.Equal(WeightDtype.F32, ckpt.LoadFrozen("w", WeightStorage.Float32, 3, 5).Dtype);
    }

    [Fact]
    public void HalfCheckpointCanBeWidenedAtLoad()
    {
        using var ckpt = SafetensorsCheckpoint.Open(Checkpoint(SafetensorsDtype.BF16, "bf16"));
        var w = ckpt.LoadFrozen("w", WeightStorage.Float32, 3, 5);
        Assert.Equal(WeightDtype.F32, w.Dtype);
        Assert.Equal(ckpt.LoadWeight("w", 3, 5).ToArray(), w.Float32!.ToArray());
        Assert.Equal(WeightDtype.BF16, ckpt.LoadFrozen("w", WeightStorage.BFloat16, 3, 5).Dtype);
    }

    [Fact]
    public void MissingAndMisshapenWeightsFailAsLoadWeightDoes()
    {
        using var ckpt = SafetensorsCheckpoint.Open(Checkpoint(SafetensorsDtype.BF16, "errors"));
        foreach (var (name, shape) in new[] { ("nope", new[] { 3, 5 }), ("w", new[] { 5, 3 }) })
        {
            var expected = Assert.Throws<SafetensorsException>(() => ckpt.LoadWeight(name, shape)).Message;
            var got = Assert.Throws<SafetensorsException>(() => ckpt.LoadFrozen(name, shape)).Message;
            Assert.Equal(expected, got);
            Assert.Contains(ckpt.Directory, got);
            Assert.Contains($"'{name}'", got);
        }
        Assert.Throws<ArgumentException>(() => ckpt.LoadFrozen("b", 2));   // a vector is not a frozen matrix
    }

    [Fact]
    public void IntegerTensorsAreRefusedNamingFileAndTensor()
    {
        string dir = Path.Combine(_dir, "ints");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "model.safetensors");
        byte[] json = Encoding.UTF8.GetBytes("""{"ids":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}""");
        using (var fs = File.Create(path))
        {
            fs.Write(BitConverter.GetBytes((ulong)json.Length));
            fs.Write(json);
            fs.Write(new byte[16]);
        }
        using var ckpt = SafetensorsCheckpoint.Open(dir);
        var e = Assert.Throws<SafetensorsException>(() => ckpt.LoadFrozen("ids", 2, 2));
        Assert.Contains(path, e.Message);
        Assert.Contains("'ids'", e.Message);
    }
}
