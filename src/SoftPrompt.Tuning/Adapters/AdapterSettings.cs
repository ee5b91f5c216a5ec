using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>
/// softprompt.json: what SoftPrompt saves beside PEFT's files — the method's registry name, the template, the answer
/// field, the verbalizer, special-token ids and the task — read totally (<see cref="JsonFields"/>), so a corrupted file
/// fails at load with the file and field named, not later in a command.
/// </summary>
public sealed record AdapterSettings(string Path, string? Method, string? Template, string? AnswerField, Verbalizer? Verbalizer, int? BosId, int? EosId, string? Task)
{
    public static AdapterSettings Read(JsonFields f) => new(f.Path,
        f.OptionalString("method"), ReadTemplate(f), f.OptionalString("answer_field"), ReadVerbalizer(f),
        f.OptionalInt("bos_id"), f.OptionalInt("eos_id"), f.OptionalString("task"));

    /// <summary>The template's source, parsed once here so that a broken one fails at load.</summary>
    static string? ReadTemplate(JsonFields f)
    {
        if (f.OptionalString("template") is not { } source) return null;
        try { Data.Template.Parse(source); }
        catch (TemplateException e) { throw new AdapterFormatException($"{f.Path}: field 'template': {e.Message}"); }
        return source;
    }

    /// <summary>Checks that the token ids fit the model's vocabulary.</summary>
    public void CheckFits(int vocabSize)
    {
        foreach (var (field, id) in new[] { ("bos_id", BosId), ("eos_id", EosId) })
            if (id >= vocabSize) throw new AdapterFormatException($"{Path}: field '{field}' is {id}, outside this model's vocabulary of {vocabSize}.");
    }

    /// <summary>The template, checked to give the method's virtual tokens their slots (none for a method without), when a prompt is rendered through it.</summary>
    public Template? TemplateFor(Methods.TuningMethod method)
    {
        if (Template is null) return null;
        var template = Data.Template.Parse(Template);
        if (template.SoftTokenCount != method.VirtualTokens)
            throw new AdapterFormatException($"{Path}: field 'template' places {template.SoftTokenCount} virtual tokens; the {method.Name} adapter has {method.VirtualTokens}.");
        return template;
    }

    static Verbalizer? ReadVerbalizer(JsonFields f)
    {
        if (f.Object["verbalizer"] is not { } v) return null;
        try { return Verbalizer.FromJson(v.ToJsonString(), $"{f.Path}: field 'verbalizer'"); }
        catch (DataFormatException e) { throw new AdapterFormatException(e.Message); }
    }
}
