using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;

namespace SoftPrompt.Models.Tests;

public class GenerationDefaultsTests
{
    [Fact]
    public void GenerationConfigWinsOverConfigAndAcceptsLists()
    {
        string dir = Directory.CreateTempSubdirectory("softprompt-gen-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "config.json"), """{"eos_token_id": 2, "bos_token_id": 1, "pad_token_id": null}""");
            File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": [128001, 128009]}""");
            var d = GenerationDefaults.Load(dir);
            Assert.Equal([128001, 128009], d.EosTokenIds);
            Assert.Equal(1, d.BosTokenId);
            Assert.Null(d.PadTokenId);
            File.WriteAllText(Path.Combine(dir, "generation_config.json"), """{"eos_token_id": "two"}""");
            var e = Assert.Throws<InvalidDataException>(() => GenerationDefaults.Load(dir));
            Assert.Contains("generation_config.json: eos_token_id", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void AStopTokenEndsGenerationAfterIt()
    {
        var model = ModelLoader.Load(PromptPlanTests.Dir("qwen2-tiny"));
        int[] prompt = [5, 9, 13, 2];
        var free = Generator.Generate(model, prompt, new GenerationOptions(MaxNewTokens: 10)).ToList();
        int stop = free[4];
        var stopped = Generator.Generate(model, prompt, new GenerationOptions(MaxNewTokens: 10) { StopTokenIds = [stop] }).ToList();
        Assert.Equal(free[..(free.IndexOf(stop) + 1)], stopped);
    }
}

/// <summary>A float32 checkpoint held in bf16: half the weight memory, logits within bf16 rounding of float32.</summary>
public class Bf16StorageTests
{
    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny-gqa")]
    public void Bf16StorageGivesLogitsCloseToFloat32(string name)
    {
        string dir = PromptPlanTests.Dir(name);
        var f32 = ModelLoader.Load(dir);
        var bf16 = ModelLoader.Load(dir, Models.Safetensors.WeightStorage.BFloat16);
        int[] ids = [1, 5, 9, 2, 7, 3];
        using var _ = SoftPrompt.Tensors.Autograd.Tape.NoGrad();
        var a = f32.Forward(ids, 1, ids.Length).ToArray();
        var b = bf16.Forward(ids, 1, ids.Length).ToArray();
        double scale = a.Max(Math.Abs), worst = a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
        Assert.True(worst < 0.05 * scale, $"{name}: bf16 logits differ by {worst} (scale {scale})");
        Assert.True(worst > 0, "bf16 storage should round the weights");
    }
}
