using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Prometheus;
using SoftPrompt.Server.Hosting;

namespace SoftPrompt.Server.Endpoints;

/// <summary>GET /metrics: Prometheus' text exposition of <see cref="ServerMetrics"/>, without an API key (as /healthz; bind the server to a private address or filter it at the proxy).</summary>
internal static class MetricsEndpoint
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/metrics", async (HttpContext context, ServerMetrics metrics) =>
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
    });
}
