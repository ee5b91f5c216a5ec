using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.MetaL;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Jobs;
using SoftPrompt.Server.Store;
using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// /v1/tasks: a task is a prompt made from a few examples, stored, and usable as a completion's model. Method "metal" makes
/// it synchronously with the PGM (one pass, no training) and answers 201 with the task; a tuning method (prompt, ptuning,
/// prefix, deep, lora) answers 202 with the task queued and trains it as a job (<see cref="JobRunner"/>; its state and
/// progress show in the task, its curve once trained).
/// </summary>
internal static class TasksEndpoints
{

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/tasks", Create);
        app.MapGet("/v1/tasks", (HttpContext context, IStore store) =>
        {
            var tenant = ApiKeyAuth.TenantOf(context);
            var jobs = LatestJobs(store, tenant.Id);
            return Results.Json(new { @object = "list", data = store.ListTasks(tenant.Id).Select(t => View(t, jobs.GetValueOrDefault(t.Id))) });
        });
        app.MapGet("/v1/tasks/{id}", (string id, HttpContext context, IStore store) =>
        {
            var tenant = ApiKeyAuth.TenantOf(context);
            var task = store.GetTask(tenant.Id, id) ?? throw NotFound(id);
            return Results.Json(View(task, LatestJobs(store, tenant.Id).GetValueOrDefault(task.Id)));
        });
        app.MapDelete("/v1/tasks/{id}", (string id, HttpContext context, IStore store, PromptCache prompts) =>
        {
            var tenant = ApiKeyAuth.TenantOf(context);
            if (!store.DeleteTask(tenant.Id, id)) throw NotFound(id);   // the row, its jobs and its adapter
            prompts.Forget(id);
            return Results.Json(new { id, @object = "task", deleted = true });
        });
    }

    static ApiException NotFound(string id) => ApiException.NotFound($"no task '{(id.Length > 64 ? id[..64] + "…" : id)}' for this API key.");

    /// <summary>A task as the API shows it.</summary>
    internal static object View(TaskRecord t, JobRecord? job = null)
    {
        var prompt = JsonNode.Parse(t.PromptJson);
        object? metrics = prompt is JsonObject o && o["curve"] is JsonArray curve ? new { curve = curve.DeepClone(), final_loss = o["final_loss"]?.DeepClone() } : null;
        return new
        {
            id = t.Id, @object = "task", name = t.Name, method = t.Method, design = t.Design, state = t.State,
            created = t.CreatedAt.ToUnixTimeSeconds(), prompt,
            job = job is null ? null : JobsEndpoints.View(job, null),
            progress = job is null ? (double?)null : Math.Round(job.Progress, 4),
            error = job?.Error is { } e ? new { message = e } : (object?)null,
            metrics,
        };
    }

    /// <summary>The newest job of each of the tenant's tasks.</summary>
    static Dictionary<string, JobRecord> LatestJobs(IStore store, string tenantId)
    {
        var latest = new Dictionary<string, JobRecord>();
        foreach (var j in store.ListJobs(tenantId))   // newest first
            latest.TryAdd(j.TaskId, j);
        return latest;
    }

    static async Task<IResult> Create(HttpContext context, IStore store, ModelHost host, Scheduler scheduler, JobRunner jobs, ServerOptions options)
    {
        var tenant = ApiKeyAuth.TenantOf(context);
        var body = await RequestJson.ReadObject(context.Request);
        string name = RequestJson.RequiredString(body, "name", "name");
        if (name.Length > options.MaxNameLength) throw ApiException.BadField("name", $"at most {options.MaxNameLength} characters, got {name.Length}.");
        string method = RequestJson.OptionalString(body, "method", "method") ?? "metal";
        var examples = ReadExamples(body, options);
        if (method != "metal") return Train(context, store, host, jobs, options, tenant, name, method, body, examples);
        long? textDemos = RequestJson.OptionalInteger(body, "text_demonstrations", "text_demonstrations");
        var m = host.Ready;
        if (m.Pgm is null) throw ApiException.BadField("method", "this server has no prompt generation model (start it with --pgm DIR), so it cannot make \"metal\" tasks.");
        // The design is the PGM's (it was meta-trained for one); a request may name it, but not ask for another.
        if (RequestJson.OptionalString(body, "design", "design") is { } design && design != m.PgmDesign)
            throw ApiException.BadField("design", $"this server's PGM makes \"{m.PgmDesign}\" prompts (it was meta-trained for that design); got \"{design}\".");
        int k = (int)Math.Clamp(textDemos ?? Math.Min(m.PgmTextDemonstrations, examples.Count - 1), -1, int.MaxValue);
        if (k < 0 || k >= examples.Count)
            throw ApiException.BadField("text_demonstrations", $"between 0 and {examples.Count - 1} (the number of examples less one, which the PGM reads), got {textDemos}.");

        string id = StoreIds.NewTaskId(), dir = store.AdapterPath(id);
        var (made, nearest) = await scheduler.RunAsync(lm =>
        {
            TaskPrompt task;
            try { using (Tape.NoGrad()) task = TaskPromptMaker.Make(lm.Model, lm.Pgm!, lm.Format, lm.Encoder, examples, k, "examples"); }
            catch (Exception e) when (e is ArgumentException or DataFormatException) { throw ApiException.BadField("examples", e.Message); }
            TaskPromptMaker.SaveAdapter(dir, task, lm.Model, lm.Format, lm.Encoder, host.ModelName, lm.EosId);
            // A discrete prompt reads as its text; a soft one as its nearest vocabulary tokens.
            return (task, task.Prompt.TokenIds is null ? PromptNearestTokens.Json(task.Prompt.Tokens, lm, options.NearestTokens) : null);
        }, context.RequestAborted);
        // The adapter is stored (with PostgreSQL: copied into the database for the other replicas) before the row exists:
        // a crash in between leaves an unreferenced adapter, never a row without its adapter.
        try { store.SaveAdapter(id, dir); }
        catch { store.DeleteAdapter(id); throw; }
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
        catch { store.DeleteAdapter(id); throw; }
        return Results.Json(View(record), statusCode: StatusCodes.Status201Created);
    }

    /// <summary>
    /// A tuning method: the request is checked here (method, settings, template, examples that fit the model), the task is
    /// stored as queued with its job, and the answer is 202 with the task; <see cref="JobRunner"/> trains it.
    /// </summary>
    static IResult Train(HttpContext context, IStore store, ModelHost host, JobRunner jobs, ServerOptions options, Tenant tenant, string name, string method,
        JsonObject body, List<Example> examples)
    {
        var request = TuningJobRequest.Read(body, method, examples, options);
        var m = host.Ready;
        try
        {
            // What the runner will build, built once here so that a bad template or an example too long fails now, naming its field.
            var (tuning, task, train, trainerOptions) = request.Build(m);
            _ = new Trainer(m.Model, tuning, task, train, null, trainerOptions, Path.Combine(Path.GetTempPath(), "softprompt-check-only"));
            // The trainer reads each example whole, its prefix (if the method has one) before it: past the model's context
            // the job would only fail once it ran (the fuzz test's long examples did).
            int prefix;
            using (Tape.NoGrad()) prefix = tuning.Compute().Prefix?.Length ?? 0;
            var encoded = task.Encode(train, "examples");
            int positions = m.Model.Config.MaxPositions;
            for (int i = 0; i < encoded.Count; i++)
                if (prefix + encoded[i].Ids.Length > positions)
                    throw ApiException.BadField($"examples[{i}]", $"the example takes {prefix + encoded[i].Ids.Length} positions with the prompt{(prefix > 0 ? $" and its prefix of {prefix}" : "")}; the model's context is {positions}.");
        }
        catch (Exception e) when (e is ArgumentException or DataFormatException or TemplateException)
        {
            throw ApiException.BadField(body.ContainsKey("template") && e.Message.Contains("template", StringComparison.OrdinalIgnoreCase) ? "template" : "examples", e.Message);
        }
        string id = StoreIds.NewTaskId();
        var record = new TaskRecord(id, tenant.Id, name, method, "", DateTimeOffset.UtcNow, "queued",
            new JsonObject { ["method"] = method, ["steps"] = request.Steps, ["examples"] = examples.Count }.ToJsonString());
        store.InsertTask(record);
        var job = store.EnqueueJob(tenant.Id, id, method, request.ToJson());
        jobs.Wake();
        context.Response.Headers.Location = $"/v1/fine_tuning/jobs/{job.Id}";
        return Results.Json(View(record, job), statusCode: StatusCodes.Status202Accepted);
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
