using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// A request the server refuses: an HTTP status (4xx) and a message, with the JSON field at fault when there is one.
/// Thrown anywhere while handling a request; <see cref="ErrorMiddleware"/> writes it as RFC 7807 problem details.
/// </summary>
public sealed class ApiException(int status, string detail, string? field = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string? Field { get; } = field;

    /// <summary>Seconds for a Retry-After header (429, 503), or null.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadField(string field, string detail) => new(StatusCodes.Status400BadRequest, $"{field}: {detail}", field);
    public static ApiException NotFound(string detail) => new(StatusCodes.Status404NotFound, detail);
}

/// <summary>Problem details (RFC 7807) as this server writes them: type, title, status, detail, and "field" when one is at fault.</summary>
internal static class Problems
{
    public static ProblemDetails Make(int status, string detail, string? field = null)
    {
        var p = new ProblemDetails
        {
            Status = status,
            Title = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
            Detail = detail,
            Type = $"https://httpwg.org/specs/rfc9110.html#status.{status}",
        };
        if (field is not null) p.Extensions["field"] = field;
        return p;
    }

    public static Task Write(HttpContext context, int status, string detail, string? field = null)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized) context.Response.Headers.WWWAuthenticate = "Bearer";
        return context.Response.WriteAsJsonAsync(Make(status, detail, field), (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json");
    }
}

/// <summary>
/// Turns whatever escapes an endpoint into problem details: <see cref="ApiException"/> with its status, Kestrel's
/// BadHttpRequestException (a body over the limit: 413; a malformed request: 400) with its status, and anything else as
/// 500 (a bug: bad input must never reach it). A response already started (a stream) is cut instead.
/// </summary>
internal sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try { await next(context); }
        catch (Exception e) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            var (status, detail, field) = e switch
            {
                ApiException a => (a.Status, a.Message, a.Field),
                Store.TenantGoneException g => (StatusCodes.Status401Unauthorized, g.Message, null),
                Store.TaskGoneException g => (StatusCodes.Status404NotFound, g.Message, null),
                BadHttpRequestException b => (b.StatusCode, b.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? $"the request body is larger than this server's limit ({context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize} bytes)." : b.Message, null),
                _ => (StatusCodes.Status500InternalServerError, "internal error; the server's log has the details.", (string?)null),
            };
            if (status >= 500 && e is not ApiException) log.LogError(e, "request {Path} failed", context.Request.Path);
            context.Response.Clear();
            if (e is ApiException { RetryAfterSeconds: int retry }) context.Response.Headers.RetryAfter = retry.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await Problems.Write(context, status, detail, field);
        }
    }
}

/// <summary>Reads a request's JSON body and its fields with errors that name the field (e.g. examples[3].output).</summary>
internal static class RequestJson
{
    public static async Task<JsonObject> ReadObject(HttpRequest request)
    {
        string text;
        try
        {
            using var reader = new StreamReader(request.Body, System.Text.Encoding.UTF8);
            text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        }
        catch (IOException e) when (e is not BadHttpRequestException)
        {
            // Framing Kestrel's own checks let through to the read, e.g. a chunk size that overflows (its IOException
            // wraps an OverflowException). A body over the limit is a BadHttpRequestException and stays a 413.
            throw new ApiException(StatusCodes.Status400BadRequest, $"the request body cannot be read: {e.Message}");
        }
        if (string.IsNullOrWhiteSpace(text)) throw new ApiException(StatusCodes.Status400BadRequest, "the request body is empty; a JSON object is expected.");
        JsonNode? node;
        // Duplicate names are refused here: JsonObject would otherwise throw ArgumentException when first read. Comparing
        // names throws InvalidOperationException for a name with half a surrogate pair ("\ud800"): not valid text either.
        try { node = JsonNode.Parse(text, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 32, AllowDuplicateProperties = false }); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        { throw new ApiException(StatusCodes.Status400BadRequest, $"the request body is not valid JSON: {e.Message}"); }
        var o = node as JsonObject ?? throw new ApiException(StatusCodes.Status400BadRequest, "the request body must be a JSON object.");
        CheckStrings(o);
        return o;
    }

    /// <summary>
    /// JSON may escape half of a UTF-16 surrogate pair ("\ud800"), which the parser accepts and reading the string then
    /// refuses with InvalidOperationException: every name and string is read once here, so such text answers 400 naming
    /// its field, wherever an endpoint would read it later.
    /// </summary>
    static void CheckStrings(JsonNode node)
    {
        string Field(JsonNode n) => n.GetPath() is var p && p.StartsWith("$.", StringComparison.Ordinal) ? p[2..] : p.TrimStart('$');
        try
        {
            switch (node)
            {
                case JsonObject o: foreach (var (_, v) in o) if (v is not null) CheckStrings(v); break;
                case JsonArray a: foreach (var v in a) if (v is not null) CheckStrings(v); break;
                case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String: _ = v.GetValue<string>(); break;
            }
        }
        catch (InvalidOperationException e)
        {
            string field = Field(node);
            throw new ApiException(StatusCodes.Status400BadRequest, $"{(field.Length > 0 ? field + ": " : "")}not valid text: {e.Message}", field.Length > 0 ? field : null);
        }
    }

    static string Kind(JsonNode? n) => n is null ? "null" : n.GetValueKind().ToString().ToLowerInvariant();

    public static string? OptionalString(JsonObject o, string field, string path)
    {
        if (!o.TryGetPropertyValue(field, out var n) || n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out string? s)) return s;
        throw ApiException.BadField(path, $"a string is expected, got {Kind(n)}.");
    }

    public static string RequiredString(JsonObject o, string field, string path, bool nonEmpty = true)
    {
        var s = OptionalString(o, field, path) ?? throw ApiException.BadField(path, "required (a string).");
        if (nonEmpty && s.Length == 0) throw ApiException.BadField(path, "must not be empty.");
        return s;
    }

    public static long? OptionalInteger(JsonObject o, string field, string path)
    {
        if (!o.TryGetPropertyValue(field, out var n) || n is null) return null;
        if (n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number)
        {
            if (v.TryGetValue(out long l)) return l;
            if (v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) < 9e18) return (long)d;
        }
        throw ApiException.BadField(path, $"an integer is expected, got {(n is JsonValue ? n.ToJsonString() : Kind(n))}.");
    }

    public static double? OptionalNumber(JsonObject o, string field, string path)
    {
        if (!o.TryGetPropertyValue(field, out var n) || n is null) return null;
        if (n is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number && v.TryGetValue(out double d)) return d;
        throw ApiException.BadField(path, $"a number is expected, got {Kind(n)}.");
    }

    public static bool? OptionalBool(JsonObject o, string field, string path)
    {
        if (!o.TryGetPropertyValue(field, out var n) || n is null) return null;
        if (n is JsonValue v && v.TryGetValue(out bool b)) return b;
        throw ApiException.BadField(path, $"true or false is expected, got {Kind(n)}.");
    }
}
