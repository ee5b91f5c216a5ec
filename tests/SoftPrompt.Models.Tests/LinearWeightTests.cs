using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;

namespace SoftPrompt.Models.Tests;

/// <summary>ICausalLanguageModel.LinearWeight: a layer's frozen weight in PEFT's [out, in] orientation, whatever the checkpoint stores.</summary>
public class LinearWeightTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", name);

    [Fact]
    public void Gpt2sConv1DWeightsComeTransposedAndCAttnWhole()
    {
        var model = ModelLoader.Load(Fixture("gpt2-tiny"));
        using var ckpt = SafetensorsCheckpoint.Open(Fixture("gpt2-tiny"));
        foreach (var layer in model.LinearLayers)
        {
            var w = model.LinearWeight(layer.Name);
            Assert.Equal([layer.OutFeatures, layer.InFeatures], w.Shape.ToArray());
            var stored = ckpt.LoadWeight(layer.Name + ".weight", layer.InFeatures, layer.OutFeatures).Span;   // Conv1D: [in, out]
            for (int o = 0; o < layer.OutFeatures; o++)
                for (int i = 0; i < layer.InFeatures; i++)
                    Assert.Equal(stored[i * layer.OutFeatures + o], w.Span[o * layer.InFeatures + i]);
        }
    }

    [Fact]
    public void LlamasLinearWeightsComeAsStored()
    {
        var model = ModelLoader.Load(Fixture("llama-tiny-gqa"));
        using var ckpt = SafetensorsCheckpoint.Open(Fixture("llama-tiny-gqa"));
        foreach (var layer in model.LinearLayers)
            Assert.Equal(ckpt.LoadWeight(layer.Name + ".weight", layer.OutFeatures, layer.InFeatures).Span.ToArray(), model.LinearWeight(layer.Name).Span.ToArray());
    }

    [Theory]
    [InlineData("transformer.h.9.attn.c_proj")]   // past the last block
    [InlineData("transformer.h.0.attn.c_pro")]
    [InlineData("lm_head")]
    public void AnUnknownLayerIsNamed(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => ModelLoader.Load(Fixture("gpt2-tiny")).LinearWeight(name));
        Assert.Contains($"'{name}'", e.Message);
    }
}
