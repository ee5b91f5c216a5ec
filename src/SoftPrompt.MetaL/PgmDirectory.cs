using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Safetensors;
using SoftPrompt.Tensors;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods.PTuning;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.MetaL;

/// <summary>
/// A meta-trained PGM on disk: pgm_config.json (the design and sizes, the episode format, and the shape of the model
/// it was made for) and pgm.safetensors (the LoRA and padding parameters, "lora." and "padding." keys). Loading checks
/// the model: a PGM made for another model is an error naming the file and what differs.
/// </summary>
public static class PgmDirectory
{
    public const string ConfigFile = "pgm_config.json", WeightsFile = "pgm.safetensors";

    public static void Save(string directory, PromptGenerator pgm, ICausalLanguageModel model, EpisodeFormat format, int promptDemonstrations, int textDemonstrations)
    {
        var c = pgm.Config;
        var config = new JsonObject
        {
            ["design"] = PromptDesigns.Name(c.Design),
            ["pad_tokens"] = c.PadTokens,
            ["lora_r"] = c.LoraRank,
            ["lora_alpha"] = c.LoraAlpha,
            ["target_modules"] = new JsonArray([.. pgm.Lora.Adapters.Select(a => (JsonNode?)JsonValue.Create(a.Layer.Name))]),
            ["padding_encoder"] = c.PaddingEncoder == PromptEncoderType.Lstm ? "lstm" : "mlp",
            ["padding_hidden"] = c.PaddingHidden,
            ["gumbel_tau"] = c.GumbelTau,
            ["separator"] = format.Separator,
            ["delimiter"] = format.Delimiter,
            ["prompt_demonstrations"] = promptDemonstrations,
            ["text_demonstrations"] = textDemonstrations,
            ["model_type"] = model.Config.ModelType,
            ["hidden_size"] = model.Config.HiddenSize,
            ["num_layers"] = model.Config.Layers,
            ["vocab_size"] = model.Config.VocabSize,
        };
        Directory.CreateDirectory(directory);
        StateFiles.SaveParameters(Path.Combine(directory, WeightsFile), pgm);
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The PGM for the model, with the episode format and the X_P / X_L demonstration counts it was meta-trained with.</summary>
    public static (PromptGenerator Pgm, EpisodeFormat Format, int PromptDemonstrations, int TextDemonstrations) Load(string directory, ICausalLanguageModel model)
    {
        string configPath = Path.Combine(directory, ConfigFile), weightsPath = Path.Combine(directory, WeightsFile);
        if (!File.Exists(configPath)) throw new AdapterFormatException($"{configPath}: not found (a PGM directory holds {ConfigFile} and {WeightsFile}; `softprompt metal train` writes them).");
        if (!File.Exists(weightsPath)) throw new AdapterFormatException($"{weightsPath}: not found.");
        var f = JsonFields.Read(configPath);
        var m = model.Config;
        foreach (var (field, want) in new[] { ("hidden_size", m.HiddenSize), ("num_layers", m.Layers), ("vocab_size", m.VocabSize) })
            if (f.Int(field) != want)
                throw new AdapterFormatException($"{configPath}: the PGM was made for a {f.String("model_type")} model with {field} {f.Int(field)}; this {m.ModelType} model has {want}.");
        PromptDesign design;
        try { design = PromptDesigns.Parse(f.String("design")); }
        catch (ArgumentException e) { throw new AdapterFormatException($"{configPath}: field 'design': {e.Message}"); }
        var encoder = f.String("padding_encoder") switch { "mlp" => PromptEncoderType.Mlp, "lstm" => PromptEncoderType.Lstm, _ => throw f.Bad("padding_encoder", "\"mlp\" or \"lstm\"") };
        string[] targets = f.Object["target_modules"] is JsonArray a && a.All(x => x is JsonValue v && v.TryGetValue(out string? _))
            ? a.Select(x => x!.GetValue<string>()).ToArray() : throw f.Bad("target_modules", "an array of module names");
        var config = new PgmConfig(design, f.Int("pad_tokens"), f.Int("lora_r"), (float)f.Double("lora_alpha", 16), targets, encoder, f.Int("padding_hidden", 0), (float)f.Double("gumbel_tau", 1));
        PromptGenerator pgm;
        try { pgm = new PromptGenerator(config, model, new Rng(0)); }
        catch (ArgumentException e) { throw new AdapterFormatException($"{configPath}: {e.Message}"); }
        try { StateFiles.LoadParameters(weightsPath, pgm); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or SafetensorsException or ShapeMismatchException)
        { throw new AdapterFormatException($"{weightsPath}: {e.Message}"); }
        var format = new EpisodeFormat(f.OptionalString("separator") ?? " =>", f.OptionalString("delimiter") ?? "\n");
        return (pgm, format, f.Int("prompt_demonstrations", 8), f.Int("text_demonstrations", 0));
    }
}
