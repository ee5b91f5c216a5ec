using System.Text.Json.Nodes;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Analysis;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// How a task view shows a soft prompt: for each virtual token, the k vocabulary tokens nearest by cosine (Lester et al.'s
/// reading; the same computation and JSON shape as <c>softprompt inspect --nearest K --json</c>). Computed once when the
/// task is made, with the model held, and stored with the task: a GET never runs the model.
/// </summary>
internal static class PromptNearestTokens
{
    /// <summary>[[{id, token, cosine}, …k], …one list a virtual token], or null when there are none to show (k = 0, a prefix, no tokens).</summary>
    public static JsonArray? Json(Tensor? virtualTokens, LoadedModel m, int k)
    {
        if (k < 1 || virtualTokens is null || virtualTokens.Rank != 2 || virtualTokens.Shape[0] == 0) return null;
        NearToken[][] near;
        using (Tape.NoGrad()) near = NearestTokens.Find(m.Model, virtualTokens, k);
        return new JsonArray([.. near.Select(list => (JsonNode?)new JsonArray([.. list.Select(t => (JsonNode?)new JsonObject
        {
            ["id"] = t.Id,
            ["token"] = m.Tokenizer.Decode([t.Id]),
            ["cosine"] = MathF.Round(t.Cosine, 4),
        })]))]);
    }
}
