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
        var output = adapter.Method.Compute();
        int n = adapter.Method.VirtualTokens;
        if (adapter.Settings?.TemplateFor(adapter.Method) is { Fields.Count: 1 } template)
        {
            var options = new RenderOptions { BosId = adapter.Settings.BosId };
            var prompt = template.RenderPrompt(Example.Of((template.Fields[0], text)), encoder, options);
            return (prompt.Ids, output.Plan([prompt.SoftSlots.Select(s => (s.Position, s.VirtualStart, s.Count))]));
        }
        var ids = encoder.Encode(text, addSpecialTokens);
        return ([.. new int[n], .. ids], output.Plan([n > 0 ? [(0, 0, n)] : []]));
    }
}
