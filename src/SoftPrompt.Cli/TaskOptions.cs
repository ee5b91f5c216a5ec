using System.CommandLine;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Cli;

/// <summary>The options that say what is learned: template, answer field, verbalizer, special tokens, length.</summary>
internal sealed class TaskOptions
{
    public readonly Option<string?> Template = new("--template") { Description = "The template, e.g. \"{soft:20}{text} Answer:{answer}\" (docs/training.md: Templates). Default: {soft:N}{text}{answer}, or {text}{answer} for prefix, deep and LoRA." };
    public readonly Option<string> AnswerField = new("--answer-field") { Description = "The field holding the answer (or the label with --verbalizer).", DefaultValueFactory = _ => "answer" };
    public readonly Option<string?> Verbalizer = new("--verbalizer") { Description = "Classification: label words as JSON file or \"pos=great|good,neg=bad\"." };
    public readonly Option<int?> MaxLength = new("--max-length") { Description = "Longest example in tokens; the longest text field is cut first." };
    public readonly Option<bool> NoEos = new("--no-eos") { Description = "Generation: do not teach the model to stop after the answer." };

    public IEnumerable<Option> All => [Template, AnswerField, Verbalizer, MaxLength, NoEos];

    public static Verbalizer? ParseVerbalizer(string? spec) =>
        spec is null ? null : File.Exists(spec) ? Tuning.Data.Verbalizer.Load(spec) : Tuning.Data.Verbalizer.Parse(spec);

    /// <summary>The task for a model directory's tokenizer. virtualTokens picks the default template.</summary>
    public TuningTask Create(ParseResult p, ITextEncoder encoder, GenerationDefaults defaults, int virtualTokens)
    {
        var verbalizer = ParseVerbalizer(p.GetValue(Verbalizer));
        string source = p.GetValue(Template) ?? (virtualTokens > 0 ? $"{{soft:{virtualTokens}}}{{text}}{{answer}}" : "{text}{answer}");
        int? eos = verbalizer is null && !p.GetValue(NoEos) && defaults.EosTokenIds.Count > 0 ? defaults.EosTokenIds[0] : null;
        var options = new RenderOptions { AnswerField = p.GetValue(AnswerField)!, Verbalizer = verbalizer, EosId = eos, MaxLength = p.GetValue(MaxLength) };
        return new TuningTask(Tuning.Data.Template.Parse(source), encoder, options);
    }

    /// <summary>The task an adapter was trained on, from its softprompt.json.</summary>
    public static TuningTask FromAdapter(Tuning.Adapters.LoadedAdapter adapter, ITextEncoder encoder, string directory)
    {
        var x = adapter.Settings ?? throw new ArgumentException($"{directory}: no softprompt.json; the adapter was not trained here, so its template is unknown. Pass --template.");
        string template = x.Template ?? throw new ArgumentException($"{Path.Combine(directory, Tuning.Adapters.AdapterDirectory.ExtrasFile)}: field 'template' is missing.");
        var options = new RenderOptions { AnswerField = x.AnswerField ?? "answer", Verbalizer = x.Verbalizer, BosId = x.BosId, EosId = x.EosId };
        return new TuningTask(Tuning.Data.Template.Parse(template), encoder, options);
    }
}
