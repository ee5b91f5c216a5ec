using System.Runtime.InteropServices;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;

namespace SoftPrompt.Models.Tests;

/// <summary>GPT-2 checkpoints in Hugging Face layout (tools/make_model_fixtures.py) against the reference logits.</summary>
public class Gpt2ModelTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    [Theory]
    [InlineData("gpt2-tiny")]            // "transformer." prefix and attn.bias buffers
    [InlineData("gpt2-tiny-noprefix")]   // bare keys, as the hub's gpt2 checkpoint
    [InlineData("gpt2-tiny-petrov")]     // no first LayerNorm, untied head (Petrov et al.'s setup 2)
    public void LogitsMatchTheReference(string name)
    {
        ReferenceLogits.AssertMatch(Gpt2Model.Load(Fixture(name)), Fixture(name));
    }

    [Fact]
    public void AMissingWeightIsNamed()
    {
        string dir = Directory.CreateTempSubdirectory("softprompt-gpt2-").FullName;
        try
        {
            File.Copy(Path.Combine(Fixture("gpt2-tiny"), "config.json"), Path.Combine(dir, "config.json"));
            SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), [new("wte.weight", Tensor.Zeros(61, 32)), new("wpe.weight", Tensor.Zeros(24, 32))]);
            var e = Assert.Throws<SafetensorsException>(() => Gpt2Model.Load(dir));
            Assert.Contains("'h.0.attn.c_attn.weight' is missing", e.Message);
            SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), [new("wte.weight", Tensor.Zeros(60, 32))]);
            var s = Assert.Throws<SafetensorsException>(() => Gpt2Model.Load(dir));
            Assert.Contains("[60, 32]", s.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>Llama-family checkpoints (GQA with llama3 rope scaling and an untied head; Qwen2 with q/k/v biases and a tied head).</summary>
public class LlamaModelTests
{
    [Theory]
    [InlineData("llama-tiny-gqa")]
    [InlineData("qwen2-tiny")]
    public void LogitsMatchTheReference(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);
        ReferenceLogits.AssertMatch(LlamaModel.Load(dir), dir);
    }
}

/// <summary>Compares a model's logits with the fixture's expected.safetensors (ids and float64-reference logits).</summary>
internal static class ReferenceLogits
{
    public static void AssertMatch(ICausalLanguageModel model, string dir)
    {
        using var expected = SafetensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        int[] ids = MemoryMarshal.Cast<byte, int>(expected.Bytes("ids")).ToArray();
        var shape = expected.Entry("ids").Shape;
        var logits = model.Forward(ids, shape[0], shape[1]);
        var reference = expected.LoadTensor("logits");
        Assert.Equal(reference.Shape.ToArray(), logits.Shape.ToArray());
        Compare.Close(logits.ToArray(), reference.ToArray(), 1e-4, Path.GetFileName(dir));
    }
}
