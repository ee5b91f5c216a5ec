using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>An adapter read back: the method (trainable again), its definition, adapter_config.json, and softprompt.json raw and typed (null when absent).</summary>
public sealed record LoadedAdapter(TuningMethod Method, JsonObject Config, JsonObject? Extras, AdapterSettings? Settings)
{
    public MethodDefinition Definition => Method.Definition;
}

/// <summary>
/// An adapter directory in PEFT's layout: adapter_config.json and adapter_model.safetensors with PEFT's keys and shapes,
/// keys under "softprompt." for what PEFT drops (so training resumes from a saved adapter), and softprompt.json with the
/// method's registry name, its settings, the template and the task. What each method writes and reads is its
/// definition's (<see cref="MethodRegistry"/>); this class does the files. Every file is written to a temporary name and renamed.
/// </summary>
public static class AdapterDirectory
{
    public const string ConfigFile = "adapter_config.json", WeightsFile = "adapter_model.safetensors", ExtrasFile = "softprompt.json";

    public static void Save(string directory, TuningMethod method, ICausalLanguageModel model, string? baseModel = null, JsonObject? extras = null)
    {
        method.CheckFits(model);
        var definition = method.Definition;
        var writer = new AdapterWriter(model, baseModel, new JsonObject
        {
            ["peft_type"] = definition.PeftType,
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["revision"] = null,
            ["inference_mode"] = true,
            ["auto_mapping"] = null,
        });
        using (Tape.NoGrad()) definition.Save(method, writer);
        var own = extras?.DeepClone().AsObject() ?? [];
        own["method"] = definition.Name;
        own["settings"] = JsonSerializer.SerializeToNode(definition.Settings(method));
        Directory.CreateDirectory(directory);
        AtomicFile.Write(Path.Combine(directory, WeightsFile), tmp => SafetensorsWriter.Write(tmp, writer.Tensors, new Dictionary<string, string> { ["format"] = "pt" }));
        AtomicFile.WriteAllText(Path.Combine(directory, ExtrasFile), own.ToJsonString(Indented));
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), writer.Config.ToJsonString(Indented));
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>adapter_config.json alone (inspect without a model); errors name the file and the field.</summary>
    public static JsonFields ReadConfig(string directory)
    {
        string configPath = Path.Combine(directory, ConfigFile);
        if (!Directory.Exists(directory)) throw new AdapterFormatException($"{directory}: no such adapter directory.");
        if (!File.Exists(configPath)) throw new AdapterFormatException($"{configPath}: not found (an adapter directory holds {ConfigFile} and {WeightsFile}).");
        var config = JsonFields.Read(configPath);
        config.String("peft_type");
        if (config.OptionalString("task_type") is { } task and not "CAUSAL_LM")
            throw new AdapterFormatException($"{configPath}: task_type '{task}' is not supported (CAUSAL_LM).");
        return config;
    }

    /// <summary>Reads an adapter (written here or by PEFT) for the model; a one-line error naming the file and field or tensor when it does not fit.</summary>
    public static LoadedAdapter Load(string directory, ICausalLanguageModel model, Rng? rng = null)
    {
        var config = ReadConfig(directory);
        string weightsPath = Path.Combine(directory, WeightsFile), extrasPath = Path.Combine(directory, ExtrasFile);
        if (!File.Exists(weightsPath)) throw new AdapterFormatException($"{weightsPath}: not found.");
        var extras = File.Exists(extrasPath) ? JsonFields.Read(extrasPath) : null;
        var settings = extras is null ? null : AdapterSettings.Read(extras);
        using var file = SafetensorsFile.Open(weightsPath);
        var reader = new AdapterReader(config, file, extras, model, rng ?? new Rng(0));
        TuningMethod method;
        try
        {
            method = MethodRegistry.For(reader).Load(reader);
            method.CheckFits(model);
        }
        catch (Exception e) when (e is ArgumentException or ShapeMismatchException)
        {
            // A value the definitions' readers let through but the method refuses: still one line naming the file.
            throw new AdapterFormatException($"{config.Path}: {e.Message}");
        }
        settings?.CheckFits(model.Config.VocabSize);
        return new LoadedAdapter(method, config.Object, extras?.Object, settings);
    }
}
