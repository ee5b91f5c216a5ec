using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SoftPrompt.Server.Hosting;

/// <summary>Counts every request by its route template (not its path: ids would make a series each), method and final status, and times it.</summary>
internal sealed class RequestMetrics(RequestDelegate next, ServerMetrics metrics)
{
    public async Task InvokeAsync(HttpContext context)
    {
        long start = Stopwatch.GetTimestamp();
        int status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            string route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.Request(route, context.Request.Method, status, Stopwatch.GetElapsedTime(start));
        }
    }
}
