using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.MetaL;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// /v1/tasks: a task is a prompt made from a few examples, stored, and usable as a completion's model. Method "metal" makes
/// it synchronously with the PGM (one pass, no training) and answers 201 with the task; the tuning methods (asynchronous
/// jobs) are not in this version.
/// </summary>
internal static class TasksEndpoints
{
    static readonly string[] TuningMethods = ["prompt", "prefix", "ptuning", "deep", "lora", "full", "attn-prefix"];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/tasks", Create);
        app.MapGet("/v1/tasks", (HttpContext context, SqliteStore store) =>
            Results.Json(new { @object = "list", data = store.ListTasks(ApiKeyAuth.TenantOf(context).Id).Select(View) }));
        app.MapGet("/v1/tasks/{id}", (string id, HttpContext context, SqliteStore store) =>
            Results.Json(View(store.GetTask(ApiKeyAuth.TenantOf(context).Id, id) ?? throw NotFound(id))));
        app.MapDelete("/v1/tasks/{id}", (string id, HttpContext context, SqliteStore store, ModelHost host) =>
        {
            var tenant = ApiKeyAuth.TenantOf(context);
            if (!store.DeleteTask(tenant.Id, id)) throw NotFound(id);
            host.Forget(id);
            string dir = store.AdapterPath(id);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            return Results.Json(new { id, @object = "task", deleted = true });
        });
    }

    static ApiException NotFound(string id) => ApiException.NotFound($"no task '{(id.Length > 64 ? id[..64] + "…" : id)}' for this API key.");

    /// <summary>A task as the API shows it.</summary>
    internal static object View(TaskRecord t) => new
    {
        id = t.Id, @object = "task", name = t.Name, method = t.Method, design = t.Design, state = t.State,
        created = t.CreatedAt.ToUnixTimeSeconds(), prompt = JsonNode.Parse(t.PromptJson),
    };

    static async Task<IResult> Create(HttpContext context, SqliteStore store, ModelHost host, ServerOptions options)
    {
        var tenant = ApiKeyAuth.TenantOf(context);
        var body = await RequestJson.ReadObject(context.Request);
        string name = RequestJson.RequiredString(body, "name", "name");
        if (name.Length > options.MaxNameLength) throw ApiException.BadField("name", $"at most {options.MaxNameLength} characters, got {name.Length}.");
        string method = RequestJson.OptionalString(body, "method", "method") ?? "metal";
        if (method != "metal")
            throw ApiException.BadField("method", TuningMethods.Contains(method)
                ? $"'{method}' trains the prompt as an asynchronous job, which this version of the server does not run yet; only \"metal\" is supported."
                : $"unknown method '{method}'; only \"metal\" is supported in this version.");
        var examples = ReadExamples(body, options);
        long? textDemos = RequestJson.OptionalInteger(body, "text_demonstrations", "text_demonstrations");
        var m = host.Ready;
        if (m.Pgm is null) throw ApiException.BadField("method", "this server has no prompt generation model (start it with --pgm DIR), so it cannot make \"metal\" tasks.");
        int k = (int)Math.Clamp(textDemos ?? Math.Min(m.PgmTextDemonstrations, examples.Count - 1), -1, int.MaxValue);
        if (k < 0 || k >= examples.Count)
            throw ApiException.BadField("text_demonstrations", $"between 0 and {examples.Count - 1} (the number of examples less one, which the PGM reads), got {textDemos}.");

        string id = SqliteStore.NewTaskId(), dir = store.AdapterPath(id);
        var (made, nearest) = await host.UseAsync(lm =>
        {
            TaskPrompt task;
            try { using (Tape.NoGrad()) task = TaskPromptMaker.Make(lm.Model, lm.Pgm!, lm.Format, lm.Encoder, examples, k, "examples"); }
            catch (Exception e) when (e is ArgumentException or DataFormatException) { throw ApiException.BadField("examples", e.Message); }
            // The adapter goes to disk before the row exists: a crash in between leaves an unreferenced folder, never a row without its adapter.
            TaskPromptMaker.SaveAdapter(dir, task, lm.Model, lm.Format, lm.Encoder, host.ModelName, lm.EosId);
            // A discrete prompt reads as its text; a soft one as its nearest vocabulary tokens.
            return (task, task.Prompt.TokenIds is null ? PromptNearestTokens.Json(task.Prompt.Tokens, lm, options.NearestTokens) : null);
        }, context.RequestAborted);
        var prompt = new JsonObject
        {
            ["length"] = made.Prompt.Length,
            ["virtual_tokens"] = made.Prompt.VirtualTokens,
            ["passes"] = made.Passes,
            ["prompt_demonstrations"] = made.PromptDemonstrations,
            ["text_demonstrations"] = made.TextDemonstrations.Count,
        };
        if (made.Prompt.TokenIds is { } ids) prompt["text"] = m.Encoder.Decode(ids);
        if (nearest is not null) prompt["nearest_tokens"] = nearest;
        var record = new TaskRecord(id, tenant.Id, name, "metal", m.PgmDesign, DateTimeOffset.UtcNow, "ready", prompt.ToJsonString());
        try { store.InsertTask(record); }
        catch { Directory.Delete(dir, recursive: true); throw; }
        return Results.Json(View(record), statusCode: StatusCodes.Status201Created);
    }

    /// <summary>examples: 1..MaxExamples objects with non-empty string input and output; the total text within MaxExampleChars (413 above it).</summary>
    static List<Example> ReadExamples(JsonObject body, ServerOptions options)
    {
        if (!body.TryGetPropertyValue("examples", out var node) || node is null) throw ApiException.BadField("examples", "required: an array of {\"input\", \"output\"} objects.");
        if (node is not JsonArray array) throw ApiException.BadField("examples", "an array of {\"input\", \"output\"} objects is expected.");
        if (array.Count == 0) throw ApiException.BadField("examples", "at least one example is needed.");
        if (array.Count > options.MaxExamples) throw ApiException.BadField("examples", $"at most {options.MaxExamples} examples, got {array.Count}.");
        var list = new List<Example>(array.Count);
        long chars = 0;
        for (int i = 0; i < array.Count; i++)
        {
            string path = $"examples[{i}]";
            if (array[i] is not JsonObject e) throw ApiException.BadField(path, "an object {\"input\", \"output\"} is expected.");
            string input = RequestJson.RequiredString(e, EpisodeFormat.InputField, $"{path}.input");
            string output = RequestJson.RequiredString(e, EpisodeFormat.OutputField, $"{path}.output");
            chars += input.Length + output.Length;
            if (chars > options.MaxExampleChars)
                throw new ApiException(StatusCodes.Status413PayloadTooLarge, $"{path}: the examples' text passes this server's limit of {options.MaxExampleChars} characters.", path);
            list.Add(new Example(new Dictionary<string, string> { [EpisodeFormat.InputField] = input, [EpisodeFormat.OutputField] = output }, "examples", i));
        }
        return list;
    }
}
