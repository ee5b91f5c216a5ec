using System.CommandLine;
using System.Text.Json;
using SoftPrompt.Models;

namespace SoftPrompt.Cli;

/// <summary><c>softprompt inspect DIR</c>: architecture, parameter count, dtype and tokenizer of a checkpoint.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "A Hugging Face checkpoint directory (config.json, model.safetensors or shards, tokenizer), or an adapter directory." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var model = new Option<string?>("--model") { Description = "For an adapter: the checkpoint it adapts (needed for its parameters and nearest tokens)." };
        var top = new Option<int>("--nearest") { Description = "For an adapter: vocabulary tokens shown per virtual token.", DefaultValueFactory = _ => 5 };
        var cmd = new Command("inspect", "Show a checkpoint's architecture, parameter count, dtype and tokenizer; or an adapter's config, parameters and nearest tokens.") { dir, json, model, top };
        cmd.SetAction(parse =>
        {
            if (File.Exists(Path.Combine(parse.GetValue(dir)!, Tuning.Adapters.AdapterDirectory.ConfigFile)))
                return CliErrors.Run(() => AdapterInspection.Print(parse.GetValue(dir)!, parse.GetValue(model), parse.GetValue(top), parse.GetValue(json)));
            CheckpointInfo info;
            try { info = CheckpointInfo.Inspect(parse.GetValue(dir)!); }
            catch (Exception e) when (e is IOException or Models.Config.ModelConfigException or Models.Safetensors.SafetensorsException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            var c = info.Config;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    directory = info.Directory, model_type = c.ModelType, family = c.Family.ToString(), layers = c.Layers, hidden_size = c.HiddenSize,
                    heads = c.Heads, kv_heads = c.KvHeads, intermediate_size = c.IntermediateSize, vocab_size = c.VocabSize,
                    tie_word_embeddings = c.TieWordEmbeddings, parameters = info.ParameterCount, parameters_by_dtype = info.ParametersByDtype,
                    tensors = info.TensorCount, tokenizer = info.Tokenizer,
                }));
                return 0;
            }
            Console.WriteLine($"architecture  {c.ModelType} ({c.Family}): {c.Layers} layers, d={c.HiddenSize}, {c.Heads} heads ({c.KvHeads} key/value), MLP {c.IntermediateSize}, vocab {c.VocabSize}, {(c.TieWordEmbeddings ? "tied" : "untied")} embeddings");
            Console.WriteLine($"parameters    {info.ParameterCount:N0} in {info.TensorCount} tensors");
            Console.WriteLine($"dtype         {string.Join(", ", info.ParametersByDtype.Select(kv => $"{kv.Key} ({kv.Value:N0})"))}");
            Console.WriteLine($"tokenizer     {info.Tokenizer}");
            return 0;
        });
        return cmd;
    }
}
