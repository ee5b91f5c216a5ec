using System.Text.Json;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;

namespace SoftPrompt.Tensors.Tests.Fixtures;

/// <summary>
/// One fixture case being run: hands out its inputs as tensors (trainable ones with RequiresGrad),
/// its integer inputs and parameters; <see cref="Run"/> checks output and gradients.
/// </summary>
public sealed class OpCase
{
    public FixtureFile File { get; }
    public string Name { get; }
    public JsonElement P { get; }
    readonly HashSet<string> _trainable;
    readonly Dictionary<string, Tensor> _made = new();

    OpCase(FixtureFile file, string name)
    {
        File = file;
        Name = name;
        P = file.Params(name);
        _trainable = P.GetProperty("trainable").EnumerateArray().Select(e => e.GetString()!).ToHashSet();
    }

    public string Where => $"{System.IO.Path.GetFileName(File.Path)}:{Name}";
    public string Op => P.GetProperty("op").GetString()!;
    public IEnumerable<string> InputNames => P.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()!);

    /// <summary>Float input <paramref name="name"/> as a tensor (the same tensor on every call).</summary>
    public Tensor In(string name)
    {
        if (_made.TryGetValue(name, out var t)) return t;
        t = File.Tensor($"{Name}/{name}");
        t.RequiresGrad = _trainable.Contains(name);
        t.Name = name;
        _made[name] = t;
        return t;
    }

    public Tensor? InOpt(string name) => File.Has($"{Name}/{name}") ? In(name) : null;

    public int[] Ints(string name) => File.Ints($"{Name}/{name}");
    public int[]? IntsOpt(string name) => File.Has($"{Name}/{name}") ? Ints(name) : null;
    public int[] ShapeOf(string name) => File.Shape($"{Name}/{name}");
    public Tensor Expected(string name) => File.Tensor($"{Name}/{name}");
    public bool HasTensor(string name) => File.Has($"{Name}/{name}");

    public int Int(string key) => P.GetProperty(key).GetInt32();
    public float Float(string key) => (float)P.GetProperty(key).GetDouble();
    public bool Bool(string key) => P.GetProperty(key).GetBoolean();
    public bool Has(string key) => P.TryGetProperty(key, out _);
    public int[] IntArray(string key) => P.GetProperty(key).EnumerateArray().Select(e => e.GetInt32()).ToArray();
    public string[] StringArray(string key) => P.GetProperty(key).EnumerateArray().Select(e => e.GetString()!).ToArray();

    /// <summary>
    /// Runs <paramref name="forward"/> on case <paramref name="caseName"/> twice (the second time on pooled
    /// buffers the first left dirty, inside a <see cref="TensorScope"/>), and checks: output shape and values,
    /// input gradients from backward(gy) for every trainable input, no gradient on frozen inputs, inputs unchanged.
    /// </summary>
    public static void Run(string family, string caseName, Func<OpCase, Tensor> forward, double tol = 1e-4, Action<OpCase, Tensor>? extra = null)
    {
        var file = FixtureFile.Load(family);
        for (int pass = 0; pass < 2; pass++)
        {
            Tape.Clear();
            using var scope = TensorScope.Begin();
            var c = new OpCase(file, caseName);
            string tag = $"{c.Where} (pass {pass + 1})";
            var y = forward(c);
            Compare.Close(y, c.Expected("y"), tol, $"{tag} y");
            extra?.Invoke(c, y);
            if (c._trainable.Count > 0)
            {
                Assert.True(y.RequiresGrad, $"{tag}: output does not require grad although inputs {string.Join(", ", c._trainable)} do.");
                y.Backward(c.Expected("gy"));
            }
            else Assert.False(y.RequiresGrad, $"{tag}: output requires grad with no trainable input.");
            foreach (var name in c.InputNames)
            {
                if (!c._made.TryGetValue(name, out var t)) { Assert.Fail($"{tag}: the forward never used input '{name}'."); return; }
                Assert.True(t.Span.SequenceEqual(c.File.Floats($"{c.Name}/{name}")), $"{tag}: input '{name}' changed (modified in place?).");
                if (c._trainable.Contains(name))
                {
                    Assert.True(t.Grad is not null, $"{tag}: trainable input '{name}' got no gradient.");
                    Compare.Close(t.Grad!, c.Expected("grad_" + name), tol, $"{tag} grad_{name}");
                }
                else Assert.True(t.Grad is null, $"{tag}: frozen input '{name}' got a gradient.");
            }
        }
    }

    /// <summary>Theory rows: the cases of a fixture family whose op is one of <paramref name="ops"/>.</summary>
    public static TheoryData<string> CasesOf(string family, params string[] ops)
    {
        var data = new TheoryData<string>();
        foreach (var c in FixtureFile.Load(family).Cases(ops)) data.Add(c);
        return data;
    }
}
