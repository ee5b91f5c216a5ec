using SoftPrompt.Models.Architectures;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Tuning.Methods.Lora;

/// <summary>lora: PEFT's LORA, "base_model.model.&lt;module&gt;.lora_A.weight" [r, in] and "lora_B.weight" [out, r].</summary>
public sealed class LoraDefinition : MethodDefinition<LoraMethod>
{
    public static readonly LoraDefinition Instance = new();

    const string ModelPrefix = "base_model.model.", A = ".lora_A.weight", B = ".lora_B.weight";

    public override string Name => "lora";
    public override string PeftType => "LORA";
    public override string Description => "LoRA (Hu et al.): low-rank updates of chosen linear layers";
    public override double DefaultLearningRate => 0.001;

    public override TuningMethod Create(MethodOptions o, ICausalLanguageModel model, Rng rng) =>
        LoraMethod.Create(new LoraConfig(o.LoraRank, o.LoraAlpha, o.LoraDropout, o.TargetModules), model, rng);

    public override TuningMethod Load(AdapterReader a)
    {
        var model = a.Model;
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        var targets = new List<LinearLayerInfo>();
        foreach (string key in a.TensorNames.Where(k => k.EndsWith(A, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            string name = key[..^A.Length];
            if (name.StartsWith(ModelPrefix, StringComparison.Ordinal)) name = name[ModelPrefix.Length..];
            if (!layers.TryGetValue(name, out var layer))
                throw a.Error($"'{key}' adapts '{name}', which is not a linear layer of this {model.Config.ModelType} model.");
            targets.Add(layer);
        }
        if (targets.Count == 0) throw a.Error("no lora_A weights.");
        var r = a.Config;
        int rank = a.SizeField("r", targets.Sum(t => (long)t.InFeatures + t.OutFeatures));
        var config = new LoraConfig(rank, (float)r.Double("lora_alpha", rank), (float)r.Probability("lora_dropout", 0), [.. targets.Select(t => t.Name)],
            UseRslora: r.Bool("use_rslora", false));
        var m = new LoraMethod(config, targets, a.Rng);
        foreach (var (layer, wa, wb) in m.Adapters)
        {
            string key = a.Weights.Entries.ContainsKey(ModelPrefix + layer.Name + A) ? ModelPrefix + layer.Name : layer.Name;
            a.Read(key + A, rank, layer.InFeatures).Span.CopyTo(wa.Span);
            a.Read(key + B, layer.OutFeatures, rank).Span.CopyTo(wb.Span);
        }
        return m;
    }

    protected override void Save(LoraMethod l, AdapterWriter a)
    {
        foreach (var (layer, wa, wb) in l.Adapters)
        {
            a.Add(ModelPrefix + layer.Name + A, wa);
            a.Add(ModelPrefix + layer.Name + B, wb);
        }
        var o = a.Config;
        o["r"] = l.Config.R;
        o["lora_alpha"] = l.Config.LoraAlpha;
        o["lora_dropout"] = l.Config.LoraDropout;
        o["target_modules"] = PeftTargetModules.For(l.Adapters.Select(x => x.Layer.Name).ToHashSet(), [.. a.Model.LinearLayers.Select(x => x.Name)]);
        o["bias"] = "none";
        o["fan_in_fan_out"] = a.Model.Config.ModelType == "gpt2";   // GPT-2's Conv1D stores weights [in, out]
        o["use_rslora"] = l.Config.UseRslora;
        o["use_dora"] = false;
        o["init_lora_weights"] = true;
        o["modules_to_save"] = null;
        o["layers_to_transform"] = null;
        o["layers_pattern"] = null;
        o["rank_pattern"] = new System.Text.Json.Nodes.JsonObject();
        o["alpha_pattern"] = new System.Text.Json.Nodes.JsonObject();
    }

    protected override object Settings(LoraMethod l) => l.Config;
}
