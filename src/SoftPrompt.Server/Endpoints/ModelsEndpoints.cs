using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Endpoints;

/// <summary>GET /v1/models (OpenAI's list): the base model, then the caller's tasks, each usable as a completion's model.</summary>
internal static class ModelsEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (HttpContext context, ModelHost host, IStore store) =>
        {
            var tenant = ApiKeyAuth.TenantOf(context);
            var data = new List<object> { new { id = host.ModelName, @object = "model", created = 0L, owned_by = "softprompt" } };
            foreach (var t in store.ListTasks(tenant.Id))
                data.Add(new { id = t.Id, @object = "model", created = t.CreatedAt.ToUnixTimeSeconds(), owned_by = tenant.Id, parent = host.ModelName, name = t.Name });
            return Results.Json(new { @object = "list", data });
        });
    }
}
