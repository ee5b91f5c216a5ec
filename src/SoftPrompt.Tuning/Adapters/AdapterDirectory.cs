using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Methods;
using SoftPrompt.Tuning.Methods.AttentionInputPrefix;
using SoftPrompt.Tuning.Methods.DeepPrompt;
using SoftPrompt.Tuning.Methods.FullFineTuning;
using SoftPrompt.Tuning.Methods.Lora;
using SoftPrompt.Tuning.Methods.PrefixTuning;
using SoftPrompt.Tuning.Methods.PromptTuning;
using SoftPrompt.Tuning.Methods.PTuning;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>An adapter read back: the method (trainable again) and SoftPrompt's own settings (template, verbalizer, …) if saved.</summary>
public sealed record LoadedAdapter(TuningMethod Method, JsonObject Config, JsonObject? Extras);

/// <summary>
/// An adapter directory in PEFT's layout: adapter_config.json and adapter_model.safetensors with
/// PEFT's keys and shapes — "prompt_embeddings" for prompt learning (prompt tuning: the tokens;
/// P-tuning: the encoder's output; prefix tuning: the projected prefix [N, L·2·W]), and
/// "base_model.model.&lt;module&gt;.lora_A.weight" / "lora_B.weight" for LoRA. Keys under "softprompt."
/// keep what PEFT drops (the P-tuning encoder, the prefix reparametrisation, a classification head)
/// so training resumes from a saved adapter; softprompt.json holds the template and task settings.
/// Every file is written to a temporary name and renamed.
/// </summary>
public static class AdapterDirectory
{
    public const string ConfigFile = "adapter_config.json", WeightsFile = "adapter_model.safetensors", ExtrasFile = "softprompt.json";
    const string Own = "softprompt.";
    const string LoraPrefix = "base_model.model.";

    public static void Save(string directory, TuningMethod method, ICausalLanguageModel model, string? baseModel = null, JsonObject? extras = null)
    {
        method.CheckFits(model);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        using (Tape.NoGrad())
        {
            switch (method)
            {
                case PromptTuningMethod p:
                    tensors.Add(new("prompt_embeddings", p.Embeddings));
                    break;
                case PTuningMethod p:
                    tensors.Add(new("prompt_embeddings", Heap(p.Encode())));
                    tensors.AddRange(p.NamedParameters().Select(kv => new KeyValuePair<string, Tensor>(Own + "prompt_encoder." + kv.Key, kv.Value)));
                    break;
                case PrefixTuningMethod p:
                    tensors.Add(new("prompt_embeddings", Heap(p.Project())));
                    tensors.AddRange(p.NamedParameters().Select(kv => new KeyValuePair<string, Tensor>(Own + "prefix_encoder." + kv.Key, kv.Value)));
                    break;
                case DeepPromptMethod p:
                    tensors.Add(new("prompt_embeddings", p.Prefix));
                    if (p.Classifier is not null)
                        tensors.AddRange(p.Classifier.NamedParameters().Select(kv => new KeyValuePair<string, Tensor>(Own + "classifier." + kv.Key, kv.Value)));
                    break;
                case AttentionInputPrefixMethod a:
                    tensors.AddRange(a.NamedParameters());
                    break;
                case FullFineTuningMethod f:
                    tensors.AddRange(f.Deltas.Select(d => new KeyValuePair<string, Tensor>(d.Layer.Name + ".delta_weight", d.Delta)));
                    tensors.AddRange(f.ParameterDeltas.Select(d => new KeyValuePair<string, Tensor>(FullFineTuningMethod.DeltaName(d.Parameter.Name), d.Delta)));
                    break;
                case LoraMethod l:
                    foreach (var (layer, a, b) in l.Adapters)
                    {
                        tensors.Add(new(LoraPrefix + layer.Name + ".lora_A.weight", a));
                        tensors.Add(new(LoraPrefix + layer.Name + ".lora_B.weight", b));
                    }
                    break;
                default:
                    throw new ArgumentException($"{method.Kind} is not saved as an adapter.");
            }
        }
        var config = PeftConfigJson.For(method, model, baseModel);
        var own = extras?.DeepClone().AsObject() ?? [];
        own["method"] = method.Kind.ToString().ToLowerInvariant();
        own["settings"] = JsonSerializer.SerializeToNode(MethodSettings(method));
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, WeightsFile), tmp => SafetensorsWriter.Write(tmp, tensors, new Dictionary<string, string> { ["format"] = "pt" }));
        AtomicFile.WriteAllText(Path.Combine(directory, ExtrasFile), own.ToJsonString(Indented));
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(Indented));
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static Tensor Heap(Tensor t)
    {
        var h = Tensor.ZerosOnHeap(t.Shape.ToArray());
        t.Span.CopyTo(h.Span);
        return h;
    }

    /// <summary>The method's own config record (what PEFT's config does not hold: init, P-tuning dropout, …).</summary>
    static object MethodSettings(TuningMethod m) => m switch
    {
        PromptTuningMethod p => p.Config,
        PTuningMethod p => p.Config,
        PrefixTuningMethod p => p.Config,
        DeepPromptMethod p => p.Config,
        LoraMethod l => l.Config,
        FullFineTuningMethod f => f.Config,
        _ => new { },
    };

    /// <summary>Reads an adapter (written here or by PEFT) for the model; a clear error when it does not fit.</summary>
    public static LoadedAdapter Load(string directory, ICausalLanguageModel model, Rng? rng = null)
    {
        rng ??= new Rng(0);
        string configPath = Path.Combine(directory, ConfigFile), weightsPath = Path.Combine(directory, WeightsFile);
        if (!Directory.Exists(directory)) throw new AdapterFormatException($"{directory}: no such adapter directory.");
        if (!File.Exists(configPath)) throw new AdapterFormatException($"{configPath}: not found (an adapter directory holds {ConfigFile} and {WeightsFile}).");
        if (!File.Exists(weightsPath)) throw new AdapterFormatException($"{weightsPath}: not found.");
        var config = ReadObject(configPath);
        string extrasPath = Path.Combine(directory, ExtrasFile);
        var extras = File.Exists(extrasPath) ? ReadObject(extrasPath) : null;
        using var file = SafetensorsFile.Open(weightsPath);
        var reader = new ConfigReader(configPath, config);
        string type = reader.String("peft_type");
        string? task = config["task_type"]?.GetValue<string>();
        if (task is not null and not "CAUSAL_LM")
            throw new AdapterFormatException($"{configPath}: task_type '{task}' is not supported (CAUSAL_LM).");
        var method = type switch
        {
            "PROMPT_TUNING" => LoadPromptTuning(reader, file, model),
            "P_TUNING" => LoadPTuning(reader, file, model, rng, extras),
            "PREFIX_TUNING" => LoadPrefix(reader, file, model, rng),
            "LORA" => LoadLora(reader, file, model, rng),
            "SOFTPROMPT_FULL" => LoadFull(file, model, extras),
            "SOFTPROMPT_ATTENTION_INPUT_PREFIX" => LoadAttentionInputPrefix(reader, file, model, rng),
            _ => throw new AdapterFormatException($"{configPath}: peft_type '{type}' is not supported (PROMPT_TUNING, P_TUNING, PREFIX_TUNING, LORA)."),
        };
        method.CheckFits(model);
        return new LoadedAdapter(method, config, extras);
    }

    static JsonObject ReadObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new AdapterFormatException($"{path}: not a JSON object.");
        }
        catch (JsonException e) { throw new AdapterFormatException($"{path}: not valid JSON ({e.Message})."); }
    }

    static Tensor Read(SafetensorsFile file, string key, params int[] shape)
    {
        if (!file.Entries.TryGetValue(key, out var e)) throw new AdapterFormatException($"{file.Path}: tensor '{key}' is missing.");
        if (shape.Length > 0 && !e.Shape.SequenceEqual(shape))
            throw new AdapterFormatException($"{file.Path}: tensor '{key}' is {Tensor.Format(e.Shape)}; this model needs {Tensor.Format(shape)}.");
        var t = file.LoadTensor(key);
        t.RequiresGrad = true;
        return t;
    }

    static PromptTuningMethod LoadPromptTuning(ConfigReader r, SafetensorsFile file, ICausalLanguageModel model)
    {
        int n = r.Int("num_virtual_tokens") * r.Int("num_transformer_submodules", 1);
        return new PromptTuningMethod(new PromptTuningConfig(n), Read(file, "prompt_embeddings", n, model.Config.HiddenSize));
    }

    static TuningMethod LoadPTuning(ConfigReader r, SafetensorsFile file, ICausalLanguageModel model, Rng rng, JsonObject? extras)
    {
        int n = r.Int("num_virtual_tokens") * r.Int("num_transformer_submodules", 1);
        var saved = Read(file, "prompt_embeddings", n, model.Config.HiddenSize);
        if (!file.Entries.Keys.Any(k => k.StartsWith(Own + "prompt_encoder.", StringComparison.Ordinal)))
            return new PromptTuningMethod(new PromptTuningConfig(n), saved);   // PEFT's own file: the encoder's output only
        var type = r.String("encoder_reparameterization_type") == "MLP" ? PromptEncoderType.Mlp : PromptEncoderType.Lstm;
        var config = new PTuningConfig(n, type, r.Int("encoder_hidden_size"), r.Int("encoder_num_layers", 2), (float)r.Double("encoder_dropout", 0));
        var m = new PTuningMethod(config, model.Config.HiddenSize, rng);
        LoadOwn(file, m, Own + "prompt_encoder.");
        return m;
    }

    static TuningMethod LoadPrefix(ConfigReader r, SafetensorsFile file, ICausalLanguageModel model, Rng rng)
    {
        int n = r.Int("num_virtual_tokens"), layers = r.Int("num_layers"), width = r.Int("token_dim");
        var c = model.Config;
        if (layers != c.Layers || width != PrefixLayout.Width(model))
            throw new AdapterFormatException($"{r.Path}: the prefix is for {layers} layers of width token_dim = {width}; this {c.ModelType} model has {c.Layers} layers of key/value width {PrefixLayout.Width(model)}.");
        var saved = Read(file, "prompt_embeddings", n, layers * 2 * width);
        bool projected = r.Bool("prefix_projection", false);
        if (projected && file.Entries.Keys.Any(k => k.StartsWith(Own + "prefix_encoder.", StringComparison.Ordinal)))
        {
            var m = new PrefixTuningMethod(new PrefixTuningConfig(n, r.Int("encoder_hidden_size")), layers, width, rng);
            LoadOwn(file, m, Own + "prefix_encoder.");
            return m;
        }
        // A projected prefix saved without its reparametrisation (PEFT's own files) trains on as a deep prompt.
        int labels = file.Entries.TryGetValue(Own + "classifier.weight", out var head) ? head.Shape[0] : 0;
        var deep = new DeepPromptMethod(new DeepPromptConfig(n, NumLabels: labels), layers, width, c.HiddenSize, rng, saved);
        if (deep.Classifier is not null) LoadOwn(file, deep.Classifier, Own + "classifier.");
        return deep;
    }

    static LoraMethod LoadLora(ConfigReader r, SafetensorsFile file, ICausalLanguageModel model, Rng rng)
    {
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        var targets = new List<LinearLayerInfo>();
        foreach (string key in file.Entries.Keys.Where(k => k.EndsWith(".lora_A.weight", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            string name = key[..^".lora_A.weight".Length];
            if (name.StartsWith(LoraPrefix, StringComparison.Ordinal)) name = name[LoraPrefix.Length..];
            if (!layers.TryGetValue(name, out var layer))
                throw new AdapterFormatException($"{file.Path}: '{key}' adapts '{name}', which is not a linear layer of this {model.Config.ModelType} model.");
            targets.Add(layer);
        }
        if (targets.Count == 0) throw new AdapterFormatException($"{file.Path}: no lora_A weights.");
        int rank = r.Int("r");
        var config = new LoraConfig(rank, (float)r.Double("lora_alpha", rank), (float)r.Double("lora_dropout", 0), [.. targets.Select(t => t.Name)],
            UseRslora: r.Bool("use_rslora", false));
        var m = new LoraMethod(config, targets, rng);
        foreach (var (layer, a, b) in m.Adapters)
        {
            string key = file.Entries.ContainsKey(LoraPrefix + layer.Name + ".lora_A.weight") ? LoraPrefix + layer.Name : layer.Name;
            Read(file, key + ".lora_A.weight", rank, layer.InFeatures).Span.CopyTo(a.Span);
            Read(file, key + ".lora_B.weight", layer.OutFeatures, rank).Span.CopyTo(b.Span);
        }
        return m;
    }

    static AttentionInputPrefixMethod LoadAttentionInputPrefix(ConfigReader r, SafetensorsFile file, ICausalLanguageModel model, Rng rng)
    {
        var m = AttentionInputPrefixMethod.Create(r.Int("num_virtual_tokens"), model, rng);
        LoadOwn(file, m, "");
        return m;
    }

    /// <summary>
    /// The linear layers' ΔW ("&lt;module&gt;.delta_weight") and the other parameters' deltas ("transformer.ln_f.delta_bias") the file holds,
    /// each checked against the model; an adapter saved before full fine-tuning trained the other parameters holds only the former.
    /// </summary>
    static FullFineTuningMethod LoadFull(SafetensorsFile file, ICausalLanguageModel model, JsonObject? extras)
    {
        var layers = model.LinearLayers.ToDictionary(l => l.Name);
        var deltaNames = model.OtherParameters.ToDictionary(p => FullFineTuningMethod.DeltaName(p.Name));
        var targets = new List<LinearLayerInfo>();
        var parameters = new List<ParameterInfo>();
        foreach (string key in file.Entries.Keys.Order(StringComparer.Ordinal))
        {
            string name = key.EndsWith(".delta_weight", StringComparison.Ordinal) ? key[..^".delta_weight".Length] : "";
            if (layers.TryGetValue(name, out var layer)) targets.Add(layer);
            else if (deltaNames.TryGetValue(key, out var parameter)) parameters.Add(parameter);
            else throw new AdapterFormatException($"{file.Path}: '{key}' is neither a linear layer's ΔW nor the delta of another parameter of this {model.Config.ModelType} model (e.g. '{model.LinearLayers[0].Name}.delta_weight', '{deltaNames.Keys.First()}').");
        }
        parameters = [.. model.OtherParameters.Where(parameters.Contains)];   // the model's order, as the method registers them when created
        // softprompt.json's settings keep how weight decay acted (absent: the defaults, toward zero, embeddings decayed), for a resumed run.
        bool Setting(string name, bool absent) => extras?["settings"]?[name] is JsonValue v && v.TryGetValue(out bool b) ? b : absent;
        var config = new FullFineTuningConfig(parameters.Count > 0 ? null : [.. targets.Select(t => t.Name)],
            Setting(nameof(FullFineTuningConfig.DecayTowardPretrained), false), Setting(nameof(FullFineTuningConfig.DecayEmbeddings), true));
        var m = new FullFineTuningMethod(config, targets, model, parameters);
        foreach (var (layer, delta) in m.Deltas) Read(file, layer.Name + ".delta_weight", layer.OutFeatures, layer.InFeatures).Span.CopyTo(delta.Span);
        foreach (var (parameter, delta) in m.ParameterDeltas) Read(file, FullFineTuningMethod.DeltaName(parameter.Name), [.. parameter.Shape]).Span.CopyTo(delta.Span);
        return m;
    }

    /// <summary>Copies the tensors under prefix into the module's parameters, every one required and shape-checked.</summary>
    static void LoadOwn(SafetensorsFile file, Tensors.NN.Module module, string prefix)
    {
        foreach (var (name, p) in module.NamedParameters())
            Read(file, prefix + name, [.. p.Shape]).Span.CopyTo(p.Span);
    }

    /// <summary>Typed fields of adapter_config.json, with errors naming the file and the field.</summary>
    sealed class ConfigReader(string path, JsonObject o)
    {
        public string Path => path;

        JsonNode? Get(string key, bool required)
        {
            var n = o[key];
            if (n is null && required) throw new AdapterFormatException($"{path}: field '{key}' is missing.");
            return n;
        }

        public string String(string key) => Get(key, true) is JsonValue v && v.TryGetValue(out string? s) ? s : throw Bad(key, "a string");

        public int Int(string key, int? fallback = null)
        {
            var n = Get(key, fallback is null);
            if (n is null) return fallback!.Value;
            return n is JsonValue v && v.TryGetValue(out int i) && i >= 0 ? i : throw Bad(key, "a non-negative integer");
        }

        public double Double(string key, double fallback)
        {
            var n = Get(key, false);
            if (n is null) return fallback;
            return n is JsonValue v && v.TryGetValue(out double d) ? d : throw Bad(key, "a number");
        }

        public bool Bool(string key, bool fallback)
        {
            var n = Get(key, false);
            if (n is null) return fallback;
            return n is JsonValue v && v.TryGetValue(out bool b) ? b : throw Bad(key, "true or false");
        }

        AdapterFormatException Bad(string key, string what) => new($"{path}: field '{key}' must be {what}, got {o[key]?.ToJsonString() ?? "null"}.");
    }
}
