using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// /v1/fine_tuning/jobs, in OpenAI's shape where it has one: the caller's jobs (a tuning task's training), one job, and
/// cancelling one (a running job stops at its next progress report; its task turns "cancelled"). fine_tuned_model is the
/// task id once the job succeeded — the model a completion names.
/// </summary>
internal static class JobsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/fine_tuning/jobs", (HttpContext context, IStore store, ModelHost host) =>
            Results.Json(new { @object = "list", data = store.ListJobs(ApiKeyAuth.TenantOf(context).Id).Select(j => View(j, host.ModelName)), has_more = false }));
        app.MapGet("/v1/fine_tuning/jobs/{id}", (string id, HttpContext context, IStore store, ModelHost host) =>
            Results.Json(View(store.GetJob(ApiKeyAuth.TenantOf(context).Id, id) ?? throw NotFound(id), host.ModelName)));
        app.MapPost("/v1/fine_tuning/jobs/{id}/cancel", (string id, HttpContext context, IStore store, ModelHost host) =>
        {
            var tenant = ApiKeyAuth.TenantOf(context);
            var job = store.CancelJob(tenant.Id, id) ?? throw NotFound(id);
            if (job.State == JobState.Cancelled) store.UpdateTask(job.TaskId, "cancelled", store.GetTask(tenant.Id, job.TaskId)?.PromptJson ?? "{}");
            return Results.Json(View(job, host.ModelName));
        });
    }

    static ApiException NotFound(string id) => ApiException.NotFound($"no job '{(id.Length > 64 ? id[..64] + "…" : id)}' for this API key.");

    /// <summary>A job as the API shows it (model: the base model's name; null inside a task's view, which says it already).</summary>
    internal static object View(JobRecord j, string? model) => new
    {
        id = j.Id, @object = "fine_tuning.job", model, task = j.TaskId, method = j.Method,
        status = JobStates.Name(j.State), progress = Math.Round(j.Progress, 4),
        created_at = j.CreatedAt.ToUnixTimeSeconds(),
        finished_at = j.IsFinished ? j.UpdatedAt.ToUnixTimeSeconds() : (long?)null,
        fine_tuned_model = j.State == JobState.Succeeded ? j.TaskId : null,
        result = j.ResultJson is null ? null : System.Text.Json.Nodes.JsonNode.Parse(j.ResultJson),
        error = j.Error is null ? null : new { message = j.Error },
        attempts = j.Attempts,
    };
}
