using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.Server.Hosting;

namespace SoftPrompt.Server.Endpoints;

/// <summary>/healthz: the process answers. /readyz: the model (and PGM) are loaded; 503 with the reason until then.</summary>
internal static class HealthEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapGet("/readyz", (ModelHost host) => host.IsReady
            ? Results.Json(new { status = "ready", model = host.ModelName })
            : Results.Problem(Problems.Make(StatusCodes.Status503ServiceUnavailable, host.NotReadyReason)));
    }
}
