using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// The web page at / (sign in with a key, tasks, their prompts, a streaming playground): one HTML file, one JavaScript
/// module and one stylesheet embedded in this assembly (Web/), served from memory with no build step. The page talks to
/// the /v1 API like any client, with the key the user typed; it is static, so it needs no key itself. Every file goes out
/// with a strict Content-Security-Policy (scripts, styles and requests from this origin only: no inline script, no
/// other site), nosniff and no referrer.
/// </summary>
internal static class WebPage
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

    static readonly (string Route, string Resource, string ContentType)[] Files =
    [
        ("/", "web/index.html", "text/html; charset=utf-8"),
        ("/web/app.js", "web/app.js", "text/javascript; charset=utf-8"),
        ("/web/app.css", "web/app.css", "text/css; charset=utf-8"),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var (route, resource, contentType) in Files)
        {
            byte[] bytes = Read(resource);
            string etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"";
            app.MapGet(route, (HttpContext context) =>
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
                headers.CacheControl = "no-cache";   // revalidate: a new server version's page is seen at once
                headers.ETag = etag;
                if (context.Request.Headers.IfNoneMatch == etag) return Results.StatusCode(StatusCodes.Status304NotModified);
                return Results.Bytes(bytes, contentType);
            }).ExcludeFromDescription();
        }
    }

    static byte[] Read(string resource)
    {
        using var stream = typeof(WebPage).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"the web page's resource '{resource}' is not embedded in {typeof(WebPage).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
