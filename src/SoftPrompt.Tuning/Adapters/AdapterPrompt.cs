using SoftPrompt.Models.Plans;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Adapters;

/// <summary>
/// Turns a user's text into the ids and plan an adapter expects. An adapter saved with a template of
/// one text field renders the text through it (as in training); otherwise the virtual tokens go first
/// and the text follows, PEFT's convention for prompt tuning and P-tuning.
/// </summary>
public static class AdapterPrompt
{
    public static (int[] Ids, PromptPlan Plan) Build(LoadedAdapter adapter, ITextEncoder encoder, string text, bool addSpecialTokens = true)
    {
        var (ids, slots) = Render(adapter, encoder, text, addSpecialTokens);
        return (ids, adapter.Method.Compute().Plan([slots]));
    }

    /// <summary>
    /// The ids alone, and where the virtual tokens go (position, first virtual token, count), without computing the
    /// method's output: what a server that keeps the prompt's computed start needs for every later request.
    /// </summary>
    public static (int[] Ids, (int Position, int VirtualStart, int Count)[] Slots) Render(LoadedAdapter adapter, ITextEncoder encoder, string text, bool addSpecialTokens = true)
    {
        int n = adapter.Method.VirtualTokens;
        if (adapter.Settings?.TemplateFor(adapter.Method) is { Fields.Count: 1 } template)
        {
            var options = new RenderOptions { BosId = adapter.Settings.BosId };
            var prompt = template.RenderPrompt(Example.Of((template.Fields[0], text)), encoder, options);
            return (prompt.Ids, [.. prompt.SoftSlots.Select(s => (s.Position, s.VirtualStart, s.Count))]);
        }
        var ids = encoder.Encode(text, addSpecialTokens);
        return ([.. new int[n], .. ids], n > 0 ? [(0, 0, n)] : []);
    }
}
