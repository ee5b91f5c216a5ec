using System.Text.Json.Nodes;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Tuning.Tests;

/// <summary>The registry is the one list of methods: every entry creates, saves and loads back as itself.</summary>
public sealed class MethodRegistryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("softprompt-registry-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    public static TheoryData<string> Names() => [.. MethodRegistry.All.Select(d => d.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryMethodSavesAndLoadsUnderItsOwnNameAndPeftType(string name)
    {
        var model = MethodGradientTests.Model("gpt2-tiny");
        var definition = MethodRegistry.Get(name);
        var m = definition.Create(new MethodOptions { VirtualTokens = 3, EncoderHidden = 8, LoraRank = 2, TargetModules = ["c_attn"] }, model, new Rng(1));
        Assert.Same(definition, m.Definition);
        AdapterDirectory.Save(_dir, m, model, "tiny");

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, AdapterDirectory.ConfigFile)))!;
        var extras = JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, AdapterDirectory.ExtrasFile)))!;
        Assert.Equal(definition.PeftType, config["peft_type"]!.GetValue<string>());
        Assert.Equal(name, extras["method"]!.GetValue<string>());   // attn-prefix was saved as "prefix" before the registry

        var loaded = AdapterDirectory.Load(_dir, model);
        Assert.Same(definition, loaded.Method.Definition);
        Assert.Equal(name, loaded.Settings!.Method);
        Assert.Equal(m.TrainableParameters, loaded.Method.TrainableParameters);
    }

    [Fact]
    public void NamesArePeftStyleAndUnique()
    {
        Assert.Equal(MethodRegistry.All.Count, MethodRegistry.All.Select(d => d.Name).Distinct().Count());
        Assert.All(MethodRegistry.All, d => Assert.Matches("^[a-z][a-z-]*$", d.Name));
        Assert.All(MethodRegistry.All, d => Assert.Matches("^[A-Z_]+$", d.PeftType));
        Assert.All(MethodRegistry.All, d => Assert.True(d.DefaultLearningRate > 0));
    }

    [Fact]
    public void AnUnknownMethodOrPeftTypeListsEveryRegisteredOne()
    {
        var e = Assert.Throws<ArgumentException>(() => MethodRegistry.Get("adapterfusion"));
        foreach (var d in MethodRegistry.All) Assert.Contains(d.Name, e.Message);

        var model = MethodGradientTests.Model("gpt2-tiny");
        AdapterDirectory.Save(_dir, MethodRegistry.Get("prompt").Create(new MethodOptions { VirtualTokens = 2 }, model, new Rng(1)), model);
        string configPath = Path.Combine(_dir, AdapterDirectory.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["peft_type"] = "IA3";
        File.WriteAllText(configPath, config.ToJsonString());
        var bad = Assert.Throws<AdapterFormatException>(() => AdapterDirectory.Load(_dir, model));
        Assert.Contains(configPath, bad.Message);
        foreach (var d in MethodRegistry.All) Assert.Contains(d.PeftType, bad.Message);
    }
}
