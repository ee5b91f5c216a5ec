using System.Text;
using SoftPrompt.Tensors.Tests.Fixtures;

namespace SoftPrompt.Tensors.Tests;

/// <summary>The fixture reader (good and bad files) and the comparison metric itself.</summary>
public class FixtureFileTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "sp-fixture-tests-" + Guid.NewGuid().ToString("N"));

    public FixtureFileTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string header, byte[] data, long? declaredLength = null)
    {
        var hb = Encoding.UTF8.GetBytes(header);
        var path = Path.Combine(_dir, name);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(declaredLength ?? hb.Length));
        f.Write(hb);
        f.Write(data);
        return path;
    }

    static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void ReadsTensorsIntsAndMetadata()
    {
        var data = Floats(1f, -2.5f, 3f, 4f).Concat(BitConverter.GetBytes(7)).Concat(BitConverter.GetBytes(-100L)).ToArray();
        var path = Write("ok.safetensors",
            """{"c/x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"c/i":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},"c/l":{"dtype":"I64","shape":[1],"data_offsets":[20,28]},"__metadata__":{"c":"{\"op\":\"x\",\"trainable\":[],\"eps\":0.5}"}}   """, data);
        var f = FixtureFile.Read(path);
        Assert.Equal([1f, -2.5f, 3f, 4f], f.Floats("c/x"));
        Assert.Equal([2, 2], f.Shape("c/x"));
        Assert.Equal([7], f.Ints("c/i"));
        Assert.Equal([-100], f.Ints("c/l"));
        Assert.Equal(0.5, f.Params("c").GetProperty("eps").GetDouble());
        Assert.Equal(["c"], f.Cases("x"));
    }

    [Fact]
    public void EveryShippedFixtureFileParses()
    {
        var files = Directory.GetFiles(FixtureFile.Directory, "*.safetensors");
        Assert.True(files.Length >= 15, $"expected the fixture files in {FixtureFile.Directory}, found {files.Length}");
        foreach (var path in files)
        {
            var f = FixtureFile.Read(path);
            Assert.NotEmpty(f.Metadata);
            foreach (var n in f.TensorNames)
                if (f.Dtype(n) == "F32") Assert.All(f.Floats(n), v => Assert.True(float.IsFinite(v), $"{path}: {n} has a non-finite value"));
        }
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<FixtureException>(() => FixtureFile.Read(Path.Combine(_dir, "nope.safetensors")));
        Assert.Contains("nope.safetensors", e.Message);
    }

    [Fact]
    public void TruncatedOrOversizedHeaderIsReported()
    {
        var path = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("short.safetensors", Assert.Throws<FixtureException>(() => FixtureFile.Read(path)).Message);
        var big = Write("big.safetensors", "{}", [], declaredLength: 1 << 20);
        Assert.Contains("big.safetensors", Assert.Throws<FixtureException>(() => FixtureFile.Read(big)).Message);
        var json = Write("json.safetensors", "{not json", []);
        Assert.Contains("json.safetensors", Assert.Throws<FixtureException>(() => FixtureFile.Read(json)).Message);
    }

    [Fact]
    public void BadTensorEntriesNameFileAndTensor()
    {
        var sizes = Write("sizes.safetensors", """{"case/w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", Floats(1f, 2f));
        var e = Assert.Throws<FixtureException>(() => FixtureFile.Read(sizes));
        Assert.Contains("sizes.safetensors", e.Message); Assert.Contains("case/w", e.Message);

        var dtype = Write("dtype.safetensors", """{"case/h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}""", [0, 0]);
        e = Assert.Throws<FixtureException>(() => FixtureFile.Read(dtype));
        Assert.Contains("dtype.safetensors", e.Message); Assert.Contains("case/h", e.Message);

        var past = Write("past.safetensors", """{"case/z":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", Floats(1f, 2f));
        e = Assert.Throws<FixtureException>(() => FixtureFile.Read(past));
        Assert.Contains("past.safetensors", e.Message); Assert.Contains("case/z", e.Message);

        var ok = Write("ok2.safetensors", """{"case/i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}""", BitConverter.GetBytes(3));
        var f = FixtureFile.Read(ok);
        e = Assert.Throws<FixtureException>(() => f.Floats("case/i"));
        Assert.Contains("ok2.safetensors", e.Message); Assert.Contains("case/i", e.Message);
        e = Assert.Throws<FixtureException>(() => f.Floats("case/missing"));
        Assert.Contains("ok2.safetensors", e.Message); Assert.Contains("case/missing", e.Message);
    }

    [Fact]
    public void MetricFlagsSmallDeviationsAndUsesTheFloor()
    {
        // 2e-4 relative on the largest element fails at 1e-4.
        Assert.Equal(2e-4, Compare.RelErr([1.0002f, 0.5f], [1f, 0.5f]).Error, 1e-6);
        Assert.ThrowsAny<Exception>(() => Compare.Close([1.0002f, 0.5f], [1f, 0.5f], 1e-4, "t"));
        // a tiny element is judged against 1 % of the largest: 1e-7 off on 1e-6 (10 % of itself) is 1e-5 of the floor.
        Assert.Equal(1e-5, Compare.RelErr([1f, 1.1e-6f], [1f, 1e-6f]).Error, 1e-7);
        // NaN never passes; an analytically zero tensor passes only near zero.
        Assert.ThrowsAny<Exception>(() => Compare.Close([float.NaN], [1f], 1e-4, "nan"));
        Compare.Close([3e-5f, -2e-5f], [0f, 1e-9f], 1e-4, "zero");
        Assert.ThrowsAny<Exception>(() => Compare.Close([3e-3f], [0f], 1e-4, "zero"));
    }
}
