using System.CommandLine;
using System.Text.Json;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt generate --model DIR --prompt TEXT --max-new-tokens N --temperature 0 [--adapter DIR] [--json]</c>:
/// greedy at temperature 0, sampling otherwise; text streams to stdout as it is generated, or --json
/// prints one object with prompt_ids, output_ids (the new tokens only) and text.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "A Hugging Face checkpoint directory (config.json, safetensors, tokenizer).", Required = true };
        var prompt = new Option<string>("--prompt") { Description = "The prompt text.", Required = true };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 32 };
        var temperature = new Option<float>("--temperature") { Description = "0 for greedy decoding; above 0 samples.", DefaultValueFactory = _ => 0f };
        var topK = new Option<int>("--top-k") { Description = "Sample from the k likeliest tokens (0: all).", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Sample from the smallest set of tokens whose probability reaches p.", DefaultValueFactory = _ => 1f };
        var penalty = new Option<float>("--repetition-penalty") { Description = "Penalty on tokens already seen (1: none).", DefaultValueFactory = _ => 1f };
        var seed = new Option<ulong>("--seed") { Description = "Seed for sampling.", DefaultValueFactory = _ => 0UL };
        var stop = new Option<string[]>("--stop") { Description = "Stop once the generated text contains this string (repeatable).", AllowMultipleArgumentsPerToken = false };
        var adapter = new Option<string?>("--adapter") { Description = "An adapter directory (PEFT layout) to generate with." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: prompt_ids, output_ids, text." };
        var dtype = DtypeOption.Create();
        var cmd = new Command("generate", "Generate text from a prompt with a checkpoint, optionally with an adapter.")
            { model, prompt, maxNew, temperature, topK, topP, penalty, seed, stop, adapter, json, dtype };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!;
            var lm = ModelLoader.Load(dir, DtypeOption.Parse(parse.GetValue(dtype)!));
            var tokenizer = Tokenizer.FromDirectory(dir);
            var defaults = GenerationDefaults.Load(dir);
            string text = parse.GetValue(prompt)!;
            int[] ids;
            PromptPlan? plan = null;
            if (parse.GetValue(adapter) is { } adapterDir)
                (ids, plan) = AdapterPrompt.Build(AdapterDirectory.Load(adapterDir, lm), new TokenizerEncoder(tokenizer), text);
            else ids = tokenizer.Encode(text, addSpecialTokens: true);
            if (ids.Length == 0) throw new ArgumentException("--prompt: the prompt encodes to no tokens.");
            var options = new GenerationOptions(parse.GetValue(maxNew), parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(topP),
                parse.GetValue(penalty), parse.GetValue(seed), defaults.EosTokenIds.Count > 0 ? defaults.EosTokenIds[0] : null)
            {
                StopTokenIds = defaults.EosTokenIds,
                StopStrings = parse.GetValue(stop) ?? [],
                Decode = generated => tokenizer.Decode(generated.ToArray(), skipSpecialTokens: true),
            };
            var output = new List<int>();
            if (parse.GetValue(json))
            {
                output.AddRange(Generator.Generate(lm, ids, options, plan));
                Console.WriteLine(JsonSerializer.Serialize(new { prompt_ids = ids, output_ids = output, text = tokenizer.Decode(output.ToArray(), skipSpecialTokens: true) }));
                return 0;
            }
            var stream = tokenizer.CreateStreamDecoder(skipSpecialTokens: true);
            foreach (int id in Generator.Generate(lm, ids, options, plan))
            {
                Console.Write(stream.Push(id));
                Console.Out.Flush();
            }
            Console.WriteLine(stream.Flush());
            return 0;
        }));
        return cmd;
    }
}
