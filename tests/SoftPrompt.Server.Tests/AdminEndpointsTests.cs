using System.Text.Json.Nodes;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests;

/// <summary>/v1/admin: tenants and keys over HTTP, for admin keys only; a revoked key answers 401.</summary>
public sealed class AdminEndpointsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    RunningServer S => fixture.S;
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post, Delete = HttpMethod.Delete;

    [Fact]
    public async Task An_admin_makes_a_tenant_whose_key_works_until_revoked()
    {
        var (status, made, _) = await S.Send(Post, "/v1/admin/tenants", S.AdminKey, new { name = "acme" });
        Assert.Equal(201, status);
        string tenant = (string)made!["id"]!, key = (string)made["key"]!;
        Assert.False((bool)made["admin"]!);
        Assert.Equal(200, (await S.Send(Get, "/v1/models", key)).Status);

        var (keyStatus, second, _) = await S.Send(Post, "/v1/admin/keys", S.AdminKey, new { tenant, label = "ci" });
        Assert.Equal(201, keyStatus);
        string secondKey = (string)second!["key"]!, prefix = (string)second["hash_prefix"]!;
        Assert.Equal(StoreIds.HashKey(secondKey)[..StoreIds.KeyHashPrefixLength], prefix);

        var listed = (await S.Send(Get, $"/v1/admin/keys?tenant={tenant}", S.AdminKey)).Body!["data"]!.AsArray();
        Assert.Equal(["ci", "first key"], listed.Select(k => (string)k!["label"]!).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(secondKey, listed.ToJsonString());
        Assert.DoesNotContain(key, listed.ToJsonString());
        var tenants = (await S.Send(Get, "/v1/admin/tenants", S.AdminKey)).Body!["data"]!.AsArray();
        Assert.Equal(2, (int)tenants.Single(t => (string)t!["id"]! == tenant)!["keys"]!);

        var (revokeStatus, revoked, _) = await S.Send(Delete, $"/v1/admin/keys/{prefix}", S.AdminKey);
        Assert.Equal(200, revokeStatus);
        Assert.True((bool)revoked!["deleted"]!);
        Assert.Equal(401, (await S.Send(Get, "/v1/models", secondKey)).Status);
        Assert.Equal(200, (await S.Send(Get, "/v1/models", key)).Status);
        Assert.Equal(404, (await S.Send(Delete, $"/v1/admin/keys/{prefix}", S.AdminKey)).Status);
        Assert.Equal("prefix", (string)(await S.Send(Delete, "/v1/admin/keys/ab", S.AdminKey)).Body!["field"]!);
    }

    [Fact]
    public async Task Deleting_a_tenant_removes_its_tasks_and_turns_its_keys_away()
    {
        var made = (await S.Send(Post, "/v1/admin/tenants", S.AdminKey, new { name = "leaving" })).Body!;
        string tenant = (string)made["id"]!, key = (string)made["key"]!;
        var (status, task, _) = await S.Send(Post, "/v1/tasks", key, ServerApiTests.TaskBody("theirs"));
        Assert.Equal(201, status);
        string taskId = (string)task!["id"]!;
        Assert.True(Directory.Exists(S.Server.Store.AdapterPath(taskId)));

        Assert.Equal(400, (await S.Send(Delete, $"/v1/admin/tenants/{S.Server.Store.FindTenantByKey(S.AdminKey)!.Id}", S.AdminKey)).Status);
        Assert.Equal(200, (await S.Send(Delete, $"/v1/admin/tenants/{tenant}", S.AdminKey)).Status);
        Assert.Equal(401, (await S.Send(Get, $"/v1/tasks/{taskId}", key)).Status);
        Assert.False(Directory.Exists(S.Server.Store.AdapterPath(taskId)));
        Assert.Equal(404, (await S.Send(Delete, $"/v1/admin/tenants/{tenant}", S.AdminKey)).Status);
        Assert.Equal(404, (await S.Send(Delete, "/v1/admin/tenants/../x", S.AdminKey)).Status);
        Assert.Equal(404, (await S.Send(Post, "/v1/admin/keys", S.AdminKey, new { tenant })).Status);
    }

    [Fact]
    public async Task A_non_admin_key_gets_403_and_bad_bodies_400()
    {
        var (_, key) = S.Server.Store.CreateTenant("plain");
        foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
        {
            (Get, "/v1/admin/tenants", null), (Post, "/v1/admin/tenants", new { name = "x" }), (Delete, "/v1/admin/tenants/tenant-0123456789abcdef", null),
            (Get, "/v1/admin/keys", null), (Post, "/v1/admin/keys", new { tenant = "tenant-0123456789abcdef" }), (Delete, "/v1/admin/keys/0123456789ab", null),
        })
        {
            var (status, problem, _) = await S.Send(method, path, key, body);
            Assert.True(status == 403, $"{method} {path}: {status}");
            Assert.Contains("admin", (string)problem!["detail"]!);
            Assert.Equal(401, (await S.Send(method, path, null, body)).Status);
        }
        Assert.Equal("name", (string)(await S.Send(Post, "/v1/admin/tenants", S.AdminKey, new { name = 3 })).Body!["field"]!);
        Assert.Equal("admin", (string)(await S.Send(Post, "/v1/admin/tenants", S.AdminKey, new { name = "x", admin = "yes" })).Body!["field"]!);
        Assert.Equal("tenant", (string)(await S.Send(Post, "/v1/admin/keys", S.AdminKey, new JsonObject())).Body!["field"]!);
    }
}
