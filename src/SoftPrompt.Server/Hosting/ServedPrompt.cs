using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Methods;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// A task's stored prompt made ready to serve, once: its adapter loaded, its method's output computed (virtual tokens,
/// prefix, deltas), and the start every request shares — virtual tokens, the template's text before the user's, the
/// X_L demonstrations — run through the model into keys and values (<see cref="SharedPromptStart"/>). A request then
/// runs only its own tokens. What <see cref="PromptCache"/> keeps, least recently used leaving first.
/// </summary>
internal sealed class ServedPrompt
{
    ServedPrompt(LoadedAdapter adapter, MethodOutput output, SharedPromptStart? start, long bytes) => (Adapter, Output, Start, Bytes) = (adapter, output, start, bytes);

    static readonly string[] Probes = ["0", "1", "a", "Z", " x", "\n", "é"];

    public LoadedAdapter Adapter { get; }
    public MethodOutput Output { get; }

    /// <summary>The shared start's keys and values, or null when the template leaves none (the text comes first).</summary>
    public SharedPromptStart? Start { get; }

    /// <summary>The batch-level parameter deltas (full fine-tuning); such requests decode in a batch of their own.</summary>
    public IReadOnlyDictionary<string, Tensor> ParameterDeltas => Output.ParameterDeltas ?? PromptPlan.NoParameterDeltas;

    /// <summary>The start's keys and values plus the adapter's weights.</summary>
    public long Bytes { get; }

    /// <summary>Loads the adapter from its folder and runs its shared start (call with the model held: the scheduler's thread).</summary>
    public static ServedPrompt Make(LoadedModel m, string adapterDirectory)
    {
        using var _ = Tape.NoGrad();
        var adapter = AdapterDirectory.Load(adapterDirectory, m.Model);
        var output = adapter.Method.Compute();
        // The shared start: the ids that texts of different kinds all share (an empty one among them: two unknown
        // characters could be the same [UNK]), less the last one if it is text (a tokenizer may join it with the text
        // that follows; a virtual token it cannot), never cutting through a slot of virtual tokens. Each request checks
        // that it begins so (SharedPromptStart.Continue).
        var (a, slots) = AdapterPrompt.Render(adapter, m.Encoder, "");
        int n = a.Length;
        foreach (string probe in Probes)
        {
            var (b, _) = AdapterPrompt.Render(adapter, m.Encoder, probe);
            int common = 0;
            while (common < n && common < b.Length && a[common] == b[common]) common++;
            n = common;
        }
        if (!slots.Any(s => s.Position < n && n <= s.Position + s.Count)) n--;
        foreach (var s in slots)
            if (s.Position < n && s.Position + s.Count > n) n = s.Position;
        SharedPromptStart? start = null;
        if (n >= 1)
        {
            var plan = output.Plan([slots]);
            start = SharedPromptStart.Compute(m.Model, a, n, plan[0], plan.ParameterDeltas);
        }
        long weights = adapter.Method.Parameters().Sum(p => (long)p.Length) * sizeof(float);
        return new ServedPrompt(adapter, output, start, (start?.Bytes ?? 0) + weights);
    }

    /// <summary>
    /// A request's text -> the ids the model runs, their row plan, the positions the whole prompt takes and how many of
    /// them came from the stored start.
    /// </summary>
    public (int[] Ids, RowPlan? Plan, int Positions, int Cached) Prepare(LoadedModel m, string text)
    {
        var (ids, slots) = AdapterPrompt.Render(Adapter, m.Encoder, text);
        if (Start?.Continue(ids, null) is var (rest, row))
            return (rest, row, Start.Prefix.Length + rest.Length, Start.Prefix.Length);
        var plan = Output.Plan([slots]);
        return (ids, plan[0], (plan[0]?.Prefix?.Length ?? 0) + ids.Length, 0);
    }
}
