using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Analysis;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary><c>softprompt inspect ADAPTER_DIR --model DIR</c>: the PEFT config, the trainable parameters and, for virtual tokens, their nearest vocabulary tokens.</summary>
internal static class AdapterInspection
{
    public static int Print(string adapterDir, string? modelDir, int nearest, bool json)
    {
        var config = AdapterDirectory.ReadConfig(adapterDir).Object;
        if (modelDir is null)
        {
            if (json) Console.WriteLine(new JsonObject { ["adapter_config"] = config.DeepClone() }.ToJsonString());
            else
            {
                Console.WriteLine(config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                Console.Error.WriteLine("(pass --model DIR for the parameter count and the nearest tokens)");
            }
            return 0;
        }
        var lm = ModelLoader.Load(modelDir);
        var tokenizer = Tokenizer.FromDirectory(modelDir);
        var loaded = AdapterDirectory.Load(adapterDir, lm);
        var method = loaded.Method;
        NearToken[][] near = [];
        using (Tape.NoGrad())
            if (method.Compute().VirtualTokens is { } tokens) near = NearestTokens.Find(lm, tokens, nearest);
        string Show(int id) => tokenizer.Decode([id]);
        if (json)
        {
            Console.WriteLine(new JsonObject
            {
                ["adapter_config"] = config.DeepClone(),
                ["softprompt"] = loaded.Extras?.DeepClone(),
                ["method"] = method.Name,
                ["trainable_parameters"] = method.TrainableParameters,
                ["nearest_tokens"] = new JsonArray([.. near.Select(list => (JsonNode?)new JsonArray([.. list.Select(t => (JsonNode?)new JsonObject { ["id"] = t.Id, ["token"] = Show(t.Id), ["cosine"] = t.Cosine })]))]),
            }.ToJsonString());
            return 0;
        }
        var table = new Table().AddColumn("adapter").AddColumn("value");
        table.AddRow("peft_type", Markup.Escape(config["peft_type"]?.ToString() ?? "?"));
        table.AddRow("method", method.Name);
        table.AddRow("trainable parameters", method.TrainableParameters.ToString("N0"));
        foreach (var key in new[] { "num_virtual_tokens", "token_dim", "num_layers", "encoder_reparameterization_type", "encoder_hidden_size", "prefix_projection", "r", "lora_alpha", "target_modules" })
            if (config[key] is { } v) table.AddRow(key, Markup.Escape(v.ToJsonString()));
        if (loaded.Settings?.Template is { } t) table.AddRow("template", Markup.Escape(t));
        AnsiConsole.Write(table);
        if (near.Length > 0)
        {
            var words = new Table().AddColumn("virtual token").AddColumn($"nearest vocabulary tokens (cosine)");
            for (int i = 0; i < near.Length; i++)
                words.AddRow(i.ToString(), Markup.Escape(string.Join("  ", near[i].Select(x => $"{JsonSerializer.Serialize(Show(x.Id))} {x.Cosine:F2}"))));
            AnsiConsole.Write(words);
        }
        return 0;
    }
}
