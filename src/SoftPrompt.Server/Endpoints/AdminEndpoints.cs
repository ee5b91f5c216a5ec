using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Endpoints;

/// <summary>
/// /v1/admin: tenants and their API keys, for an admin tenant's key only (another key answers 403). The same operations
/// as <c>softprompt serve keys</c>; a new key is in the response once, and listings show a key's hash prefix, never the key.
/// </summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin").AddEndpointFilter(async (context, next) =>
        {
            if (!ApiKeyAuth.TenantOf(context.HttpContext).IsAdmin)
                throw new ApiException(StatusCodes.Status403Forbidden, "this API key's tenant is not an admin; /v1/admin needs an admin key.");
            return await next(context);
        });

        admin.MapGet("/tenants", (IStore store) => Results.Json(new { @object = "list", data = store.ListTenants().Select(View) }));
        admin.MapPost("/tenants", async (HttpContext context, IStore store, ServerOptions options) =>
        {
            var body = await RequestJson.ReadObject(context.Request);
            string name = RequestJson.RequiredString(body, "name", "name");
            if (name.Length > options.MaxNameLength) throw ApiException.BadField("name", $"at most {options.MaxNameLength} characters, got {name.Length}.");
            bool isAdmin = RequestJson.OptionalBool(body, "admin", "admin") ?? false;
            var (tenant, key) = store.CreateTenant(name, isAdmin);
            return Results.Json(new { id = tenant.Id, @object = "tenant", name = tenant.Name, admin = tenant.IsAdmin, key }, statusCode: StatusCodes.Status201Created);
        });
        admin.MapDelete("/tenants/{id}", (string id, HttpContext context, IStore store) =>
        {
            if (id == ApiKeyAuth.TenantOf(context).Id)
                throw new ApiException(StatusCodes.Status400BadRequest, "a tenant cannot delete itself with its own key; use another admin's key (or softprompt serve keys delete-tenant).");
            if (!StoreIds.IsTenantId(id) || !store.DeleteTenant(id)) throw TenantNotFound(id);
            return Results.Json(new { id, @object = "tenant", deleted = true });
        });

        admin.MapGet("/keys", (HttpContext context, IStore store) =>
        {
            string? tenant = context.Request.Query["tenant"];
            return Results.Json(new { @object = "list", data = store.ListKeys(string.IsNullOrEmpty(tenant) ? null : tenant).Select(View) });
        });
        admin.MapPost("/keys", async (HttpContext context, IStore store, ServerOptions options) =>
        {
            var body = await RequestJson.ReadObject(context.Request);
            string tenantId = RequestJson.RequiredString(body, "tenant", "tenant");
            string label = RequestJson.OptionalString(body, "label", "label") ?? "";
            if (label.Length > options.MaxNameLength) throw ApiException.BadField("label", $"at most {options.MaxNameLength} characters, got {label.Length}.");
            if (!StoreIds.IsTenantId(tenantId) || store.GetTenant(tenantId) is null) throw TenantNotFound(tenantId);
            string key;
            try { key = store.CreateKey(tenantId, label); }
            catch (ArgumentException) { throw TenantNotFound(tenantId); }   // deleted since the look just above (the fuzz test's concurrent clients met it)
            return Results.Json(new { @object = "api_key", tenant = tenantId, label, hash_prefix = StoreIds.HashKey(key)[..StoreIds.KeyHashPrefixLength], key },
                statusCode: StatusCodes.Status201Created);
        });
        admin.MapDelete("/keys/{prefix}", (string prefix, IStore store) =>
        {
            ApiKeyInfo? revoked;
            try { revoked = store.RevokeKey(prefix); }
            catch (ArgumentException e) { throw ApiException.BadField("prefix", e.Message); }
            if (revoked is null) throw ApiException.NotFound($"no API key whose hash starts with '{prefix}'.");
            return Results.Json(new { hash_prefix = revoked.HashPrefix, @object = "api_key", tenant = revoked.TenantId, label = revoked.Label, deleted = true });
        });
    }

    static ApiException TenantNotFound(string id) => ApiException.NotFound($"no tenant '{(id.Length > 64 ? id[..64] + "…" : id)}'.");

    static object View(TenantSummary t) => new
    {
        id = t.Tenant.Id, @object = "tenant", name = t.Tenant.Name, admin = t.Tenant.IsAdmin,
        created = t.CreatedAt.ToUnixTimeSeconds(), keys = t.Keys, tasks = t.Tasks,
    };

    static object View(ApiKeyInfo k) => new
    {
        hash_prefix = k.HashPrefix, @object = "api_key", tenant = k.TenantId, label = k.Label, created = k.CreatedAt.ToUnixTimeSeconds(),
    };
}
