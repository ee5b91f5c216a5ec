using Microsoft.AspNetCore.Http;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// Every /v1 request carries <c>Authorization: Bearer KEY</c>; the key's hash finds its tenant, which the endpoints read
/// with <see cref="TenantOf"/>. A missing, malformed or unknown key answers 401 before any endpoint runs.
/// </summary>
internal sealed class ApiKeyAuth(RequestDelegate next, IStore store)
{
    const string ItemKey = "softprompt.tenant";

    public Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v1")) return next(context);
        string header = context.Request.Headers.Authorization.ToString();
        if (header.Length == 0)
            return Problems.Write(context, StatusCodes.Status401Unauthorized, "an API key is required: send the header 'Authorization: Bearer KEY'.");
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length > 512)
            return Problems.Write(context, StatusCodes.Status401Unauthorized, "the Authorization header must be 'Bearer KEY'.");
        var tenant = store.FindTenantByKey(header["Bearer ".Length..].Trim());
        if (tenant is null) return Problems.Write(context, StatusCodes.Status401Unauthorized, "the API key is not valid.");
        context.Items[ItemKey] = tenant;
        return next(context);
    }

    public static Tenant TenantOf(HttpContext context) =>
        context.Items[ItemKey] as Tenant ?? throw new InvalidOperationException("no tenant: the endpoint is outside /v1.");
}
