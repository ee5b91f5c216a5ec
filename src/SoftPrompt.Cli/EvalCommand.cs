using System.CommandLine;
using System.Text.Json;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary><c>softprompt eval --model DIR --adapter DIR --data FILE</c>: the adapter's loss and its task's metrics on a dataset.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The Hugging Face checkpoint directory the adapter was trained on.", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "An adapter directory written by softprompt train.", Required = true };
        var data = new Option<string>("--data") { Description = "Evaluation data (.jsonl or .csv) with the fields of the adapter's template.", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Examples per forward pass.", DefaultValueFactory = _ => 8 };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Generation tasks: most tokens generated per answer.", DefaultValueFactory = _ => 32 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: loss, metrics, predictions." };
        var dtype = DtypeOption.Create();
        var cmd = new Command("eval", "Evaluate an adapter on a dataset: loss and the task's metrics.") { model, adapter, data, batch, maxNew, json, dtype };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string dir = parse.GetValue(model)!, adapterDir = parse.GetValue(adapter)!;
            var lm = ModelLoader.Load(dir, DtypeOption.Parse(parse.GetValue(dtype)!));
            var encoder = new TokenizerEncoder(Tokenizer.FromDirectory(dir));
            var loaded = AdapterDirectory.Load(adapterDir, lm);
            var task = TaskOptions.FromAdapter(loaded, encoder, adapterDir);
            var examples = Dataset.Load(parse.GetValue(data)!);
            var r = Evaluator.Evaluate(lm, loaded.Method, task, examples, parse.GetValue(batch), parse.GetValue(maxNew));
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new { loss = r.Loss, metrics = r.Metrics, examples = examples.Count, predictions = r.Predictions }));
                return 0;
            }
            var table = new Table().AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
            table.AddRow("examples", examples.Count.ToString());
            table.AddRow("loss", r.Loss.ToString("F4"));
            foreach (var (k, v) in r.Metrics) table.AddRow(k, v.ToString("F4"));
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }
}
