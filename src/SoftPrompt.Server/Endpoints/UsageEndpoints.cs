using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// GET /v1/usage[?since=UNIX_SECONDS]: the caller's completions per model (the base model or a task id) — requests and
/// tokens. Records are written in batches, so a completion shows here within about a second.
/// </summary>
internal static class UsageEndpoints
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/usage", (HttpContext context, IStore store) =>
    {
        var tenant = ApiKeyAuth.TenantOf(context);
        DateTimeOffset? since = null;
        if (context.Request.Query.TryGetValue("since", out var raw))
        {
            if (!long.TryParse(raw.ToString(), out long seconds) || seconds < 0 || seconds > 253402300799)
                throw ApiException.BadField("since", $"a time in seconds since 1970 is expected, got '{(raw.ToString().Length > 32 ? raw.ToString()[..32] + "…" : raw.ToString())}'.");
            since = DateTimeOffset.FromUnixTimeSeconds(seconds);
        }
        return Results.Json(new
        {
            @object = "list",
            data = store.Usage(tenant.Id, since).Select(u => new
            {
                model = u.Model, requests = u.Requests, prompt_tokens = u.PromptTokens, completion_tokens = u.CompletionTokens, total_tokens = u.TotalTokens,
            }),
        });
    });
}
