using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Plans;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Tuning.Tests;

/// <summary>Adapters in PEFT's layout: keys, shapes and config fields; save → load gives the same outputs; bad adapters are named errors.</summary>
public sealed class AdapterDirectoryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-adapter-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static TuningMethod Create(string kind, ICausalLanguageModel model)
    {
        var rng = new Rng(3);
        var m = kind switch
        {
            "prompt" => (TuningMethod)PromptTuningMethod.Create(new PromptTuningConfig(5), model, rng),
            "ptuning" => PTuningMethod.Create(new PTuningConfig(5, EncoderHiddenSize: 8), model, rng),
            "prefix" => PrefixTuningMethod.Create(new PrefixTuningConfig(3, EncoderHiddenSize: 16), model, rng),
            "deep" => DeepPromptMethod.Create(new DeepPromptConfig(3, NumLabels: 2), model, rng),
            "lora" => LoraMethod.Create(new LoraConfig(2, 8f, TargetModules: ["c_attn", "q_proj", "v_proj", "mlp.c_proj", "down_proj"]), model, rng),
            "full" => FullFineTuningMethod.Create(new FullFineTuningConfig(["c_proj"]), model),
            "full, every parameter" => FullFineTuningMethod.Create(new FullFineTuningConfig(), model),
            "attention-input" => Methods.AttentionInputPrefix.AttentionInputPrefixMethod.Create(5, model, rng),
            _ => throw new ArgumentException(kind),
        };
        if (m is FullFineTuningMethod f) foreach (var d in f.Deltas.Select(x => x.Delta).Concat(f.ParameterDeltas.Select(x => x.Delta))) new Rng(5).FillNormal(d.Span, 0f, 0.05f);
        // LoRA starts as the identity (B = 0); move B so the round trip is tested on a real delta.
        if (m is LoraMethod l) foreach (var (_, _, b) in l.Adapters) new Rng(4).FillNormal(b.Span, 0f, 0.1f);
        return m;
    }

    static float[] Logits(ICausalLanguageModel model, TuningMethod m)
    {
        using var _ = Tape.NoGrad();
        int[] ids = [0, 0, 0, 0, 0, 7, 3, 9, 1];
        var slots = m.VirtualTokens > 0 ? new[] { (0, 0, m.VirtualTokens) } : [];
        return model.Forward(ids, 1, ids.Length, new ForwardOptions { Plan = m.Compute().Plan([slots]) }).ToArray();
    }

    [Theory]
    [InlineData("gpt2-tiny", "prompt")]
    [InlineData("gpt2-tiny", "ptuning")]
    [InlineData("gpt2-tiny", "prefix")]
    [InlineData("gpt2-tiny", "deep")]
    [InlineData("gpt2-tiny", "lora")]
    [InlineData("llama-tiny-gqa", "prefix")]
    [InlineData("llama-tiny-gqa", "lora")]
    [InlineData("gpt2-tiny", "full")]
    [InlineData("gpt2-tiny", "full, every parameter")]
    [InlineData("qwen2-tiny", "full, every parameter")]
    [InlineData("llama-tiny-gqa", "attention-input")]
    public void SaveThenLoadGivesTheSameOutputsAndTheSameKind(string modelName, string kind)
    {
        var model = MethodGradientTests.Model(modelName);
        var m = Create(kind, model);
        AdapterDirectory.Save(_dir, m, model, "tiny", new JsonObject { ["template"] = "{soft}{text}{answer}" });
        var loaded = AdapterDirectory.Load(_dir, model);
        Assert.Equal(m.Name, loaded.Method.Name);
        Assert.Equal(m.TrainableParameters, loaded.Method.TrainableParameters);
        Assert.Equal("{soft}{text}{answer}", loaded.Extras!["template"]!.GetValue<string>());
        Assert.Equal(Logits(model, m), Logits(model, loaded.Method));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void PrefixAdaptersUsePeftsKeysShapesAndGroupedQueryWidth()
    {
        var model = MethodGradientTests.Model("llama-tiny-gqa");   // 2 layers, 4 heads, 2 key/value heads of 8
        AdapterDirectory.Save(_dir, Create("prefix", model), model);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "adapter_config.json")))!.AsObject();
        Assert.Equal("PREFIX_TUNING", config["peft_type"]!.GetValue<string>());
        Assert.Equal(16, config["token_dim"]!.GetValue<int>());
        Assert.Equal(2, config["num_attention_heads"]!.GetValue<int>());
        Assert.Equal(2, config["num_layers"]!.GetValue<int>());
        Assert.True(config["prefix_projection"]!.GetValue<bool>());
        using var f = SafetensorsFile.Open(Path.Combine(_dir, "adapter_model.safetensors"));
        Assert.Equal([3, 2 * 2 * 16], f.Entry("prompt_embeddings").Shape);
        Assert.Contains("softprompt.prefix_encoder.transform.0.weight", f.Entries.Keys);
    }

    [Fact]
    public void LoraAdaptersUsePeftsKeysAndTargetModules()
    {
        var model = MethodGradientTests.Model("gpt2-tiny");
        AdapterDirectory.Save(_dir, Create("lora", model), model);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "adapter_config.json")))!.AsObject();
        Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
        Assert.Equal(["c_attn", "mlp.c_proj"], config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).Order());
        Assert.True(config["fan_in_fan_out"]!.GetValue<bool>());
        using var f = SafetensorsFile.Open(Path.Combine(_dir, "adapter_model.safetensors"));
        Assert.Equal([2, 32], f.Entry("base_model.model.transformer.h.1.attn.c_attn.lora_A.weight").Shape);
        Assert.Equal([96, 2], f.Entry("base_model.model.transformer.h.1.attn.c_attn.lora_B.weight").Shape);
        Assert.Equal([32, 2], f.Entry("base_model.model.transformer.h.0.mlp.c_proj.lora_B.weight").Shape);
    }

    [Fact]
    public void PeftsOwnPTuningAndPrefixFilesLoadAsTheirOutputs()
    {
        // PEFT saves only prompt_embeddings: a P-tuning adapter loads as its tokens, a projected prefix as a deep prompt.
        var model = MethodGradientTests.Model("gpt2-tiny");
        foreach (var kind in new[] { "ptuning", "prefix" })
        {
            var m = Create(kind, model);
            AdapterDirectory.Save(_dir, m, model);
            string weights = Path.Combine(_dir, "adapter_model.safetensors");
            Tensor saved;
            using (var f = SafetensorsFile.Open(weights)) saved = f.LoadTensor("prompt_embeddings");
            SafetensorsWriter.Write(weights, [new("prompt_embeddings", saved)]);
            var loaded = AdapterDirectory.Load(_dir, model).Method;
            Assert.Equal(kind == "ptuning" ? "prompt" : "deep", loaded.Name);
            var expected = Logits(model, m);
            var actual = Logits(model, loaded);
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"{kind}: logit {i}");
        }
    }

    [Fact]
    public void AnAdapterThatDoesNotFitTheModelIsANamedError()
    {
        var gpt2 = MethodGradientTests.Model("gpt2-tiny");
        var llama = MethodGradientTests.Model("llama-tiny-gqa");
        AdapterDirectory.Save(_dir, Create("prefix", gpt2), gpt2);
        var e = Assert.Throws<AdapterFormatException>(() => AdapterDirectory.Load(_dir, llama));
        Assert.Contains("token_dim = 32", e.Message);
        AdapterDirectory.Save(_dir, Create("lora", gpt2), gpt2);
        e = Assert.Throws<AdapterFormatException>(() => AdapterDirectory.Load(_dir, llama));
        Assert.Contains("transformer.h.0.attn.c_attn", e.Message);
        AdapterDirectory.Save(_dir, Create("prompt", gpt2), gpt2);
        var config = Path.Combine(_dir, "adapter_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"num_virtual_tokens\": 5", "\"num_virtual_tokens\": \"five\""));
        e = Assert.Throws<AdapterFormatException>(() => AdapterDirectory.Load(_dir, gpt2));
        Assert.Contains("'num_virtual_tokens'", e.Message);
        File.WriteAllText(config, "{ not json");
        e = Assert.Throws<AdapterFormatException>(() => AdapterDirectory.Load(_dir, gpt2));
        Assert.Contains("adapter_config.json: not valid JSON", e.Message);
    }

    [Fact]
    public void AFailedSaveLeavesTheSavedAdapterIntact()
    {
        var model = MethodGradientTests.Model("gpt2-tiny");
        var m = Create("prefix", model);
        AdapterDirectory.Save(_dir, m, model);
        var before = File.ReadAllBytes(Path.Combine(_dir, "adapter_model.safetensors"));
        var llama = MethodGradientTests.Model("llama-tiny-gqa");
        Assert.ThrowsAny<Exception>(() => AdapterDirectory.Save(_dir, m, llama));   // does not fit: nothing is written
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(_dir, "adapter_model.safetensors")));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }
}
