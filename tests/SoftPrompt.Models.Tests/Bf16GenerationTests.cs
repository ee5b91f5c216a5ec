using System.Runtime.InteropServices;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors.Autograd;
using Xunit.Abstractions;

namespace SoftPrompt.Models.Tests;

/// <summary>
/// The fixtures held in bf16 (WeightStorage.BFloat16, as --dtype bf16 loads them) against the same fixtures in
/// float32: the logits move by the weights' rounding (2⁻⁹ relative per weight) and no more, and how far greedy
/// decoding runs before the first differing token is reported (random tiny models have near-tied logits, so it
/// is measured, not required).
/// </summary>
public class Bf16GenerationTests(ITestOutputHelper output)
{
    static ICausalLanguageModel Model(string name, WeightStorage storage)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);
        return name.StartsWith("gpt2") ? Gpt2Model.Load(dir, storage) : LlamaModel.Load(dir, storage);
    }

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    [InlineData("qwen2-tiny")]
    public void Bf16LogitsStayWithinTheWeightsRoundingOfFloat32(string name)
    {
        var f32 = Model(name, WeightStorage.Float32);
        var bf16 = Model(name, WeightStorage.BFloat16);
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);
        using var expected = SafetensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        int[] ids = MemoryMarshal.Cast<byte, int>(expected.Bytes("ids")).ToArray();
        var shape = expected.Entry("ids").Shape;
        float[] a, b;
        using (Tape.NoGrad())
        {
            a = f32.Forward(ids, shape[0], shape[1]).ToArray();
            b = bf16.Forward(ids, shape[0], shape[1]).ToArray();
        }
        double worst = 0, scale = a.Max(Math.Abs);
        for (int i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        // A logit sums many products of rounded weights: its error stays a few times 2⁻⁹ of the logits' scale.
        Assert.True(worst <= 0.05 * (1 + scale), $"{name}: bf16 logits differ from float32 by {worst:G3} (largest logit {scale:G3})");

        int[] prompt = [3, 14, 15, 9, 2, 6];
        var o = new GenerationOptions(MaxNewTokens: Math.Min(32, f32.Config.MaxPositions - prompt.Length));   // gpt2-tiny has 24 positions
        var ta = Generator.Generate(f32, prompt, o).ToList();
        var tb = Generator.Generate(bf16, prompt, o).ToList();
        int same = 0;
        while (same < ta.Count && ta[same] == tb[same]) same++;
        output.WriteLine($"{name}: bf16 logits within {worst:G3} of float32 (largest |logit| {scale:G3}); greedy tokens equal for {same} of {ta.Count}");
    }
}
