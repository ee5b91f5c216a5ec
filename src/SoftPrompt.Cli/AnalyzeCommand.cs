using System.CommandLine;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Analysis;
using SoftPrompt.Tuning.Data;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt analyze attention --model DIR --adapter DIR --data FILE --out DIR</c>: how an adapter moves
/// each head's attention (Petrov et al.): attention_shift.json, attention_shift.md, attention_shift.svg.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The checkpoint directory the adapter was trained on.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "An adapter directory.", Required = true };
        var data = new Option<string>("--data") { Description = "Examples (.jsonl or .csv) with the fields of the adapter's template; the prompts are analysed.", Required = true };
        var output = new Option<string>("--out") { Description = "Output directory for the table (JSON, markdown) and the heatmap (SVG).", Required = true }.MustBeDirectoryPath();
        var limit = new Option<int>("--max-examples") { Description = "Examples analysed (the first N).", DefaultValueFactory = _ => 64 };
        var attention = new Command("attention", "Per layer and head: the attention the prefix takes, the direct and total change of the attention over the content, the rank of the output bias; a verdict.")
            { model, adapter, data, output, limit };
        attention.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!, adapterDir = parse.GetValue(adapter)!, outDir = parse.GetValue(output)!;
            var lm = ModelLoader.Load(dir);
            var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var loaded = AdapterDirectory.Load(adapterDir, lm);
            var task = TaskOptions.FromAdapter(loaded, encoder, adapterDir);
            var examples = Dataset.Load(parse.GetValue(data)!).Take(parse.GetValue(limit)).ToArray();
            var prompts = examples.Select(e => task.Template.RenderPrompt(e, encoder, task.Options)).ToArray();
            var report = AttentionShift.Analyze(lm, loaded.Method, prompts);
            AttentionShiftFiles.Write(outDir, report, loaded.Method.Name, prompts.Length, lm.Config.Layers, lm.Config.Heads);
            return 0;
        }));
        return new Command("analyze", "Analyses of adapters.") { attention };
    }
}
