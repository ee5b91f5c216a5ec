namespace SoftPrompt.Cli.Tests;

/// <summary>serve's argument errors; the server itself is tested on a real Kestrel in SoftPrompt.Server.Tests.</summary>
public sealed class ServeCommandTests
{
    [Fact]
    public void Serve_without_a_model_or_with_a_missing_directory_is_a_one_line_error()
    {
        var (code, _, err) = CliRunner.Run("serve", "--pgm", "x");
        Assert.NotEqual(0, code);
        Assert.Contains("--model", err);
        (code, _, err) = CliRunner.Run("serve", "--model", "/no/such/model", "--pgm", "/no/such/pgm", "--data-dir", Path.Combine(Path.GetTempPath(), "sp-serve-unused"));
        Assert.Equal(1, code);
        Assert.Equal("error: --model /no/such/model: no such directory.", err.Trim());
    }

    [Fact]
    public void Serve_is_listed_with_its_options()
    {
        var (code, output, _) = CliRunner.Run("serve", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--pgm", "--data-dir", "--urls" }) Assert.Contains(option, output);
    }
}

/// <summary>serve keys: tenants and keys on a server's store, from the command line.</summary>
public sealed class ServeKeysCommandTests
{
    [Fact]
    public void Keys_made_listed_revoked_and_a_tenant_deleted_on_a_data_dir()
    {
        string data = Path.Combine(Path.GetTempPath(), $"sp-serve-keys-{Guid.NewGuid():N}");
        var (code, output, err) = CliRunner.Run("serve", "keys", "create-tenant", "acme corp", "--admin", "--data-dir", data);
        Assert.True(code == 0, err);
        string tenant = System.Text.RegularExpressions.Regex.Match(output, "tenant-[0-9a-f]{16}").Value;
        string first = System.Text.RegularExpressions.Regex.Match(output, "sp-[0-9a-f]{64}").Value;
        Assert.Contains("admin", output);
        using (var store = SoftPrompt.Server.Store.SqliteStore.Open(data))
            Assert.Equal(("acme corp", true), (store.FindTenantByKey(first)!.Name, store.FindTenantByKey(first)!.IsAdmin));

        (code, output, err) = CliRunner.Run("serve", "keys", "create-key", "--tenant", tenant, "--label", "ci runner", "--data-dir", data);
        Assert.True(code == 0, err);
        string second = System.Text.RegularExpressions.Regex.Match(output, "sp-[0-9a-f]{64}").Value;
        Assert.NotEqual(first, second);

        (code, output, err) = CliRunner.Run("serve", "keys", "list", "--data-dir", data);
        Assert.True(code == 0, err);
        foreach (var shown in new[] { tenant, "acme corp", "ci runner", "first key", SoftPrompt.Server.Store.StoreIds.HashKey(second)[..12] }) Assert.Contains(shown, output);
        Assert.DoesNotContain(first[3..], output);
        Assert.DoesNotContain(second[3..], output);

        (code, output, err) = CliRunner.Run("serve", "keys", "revoke", SoftPrompt.Server.Store.StoreIds.HashKey(second)[..10], "--data-dir", data);
        Assert.True(code == 0, err);
        Assert.Contains("ci runner", output);
        using (var store = SoftPrompt.Server.Store.SqliteStore.Open(data))
        {
            Assert.Null(store.FindTenantByKey(second));
            Assert.NotNull(store.FindTenantByKey(first));
        }
        (code, _, err) = CliRunner.Run("serve", "keys", "revoke", SoftPrompt.Server.Store.StoreIds.HashKey(second)[..10], "--data-dir", data);
        Assert.Equal(1, code);
        Assert.Contains("no key's hash starts with it", err);

        (code, output, err) = CliRunner.Run("serve", "keys", "delete-tenant", tenant, "--data-dir", data);
        Assert.True(code == 0, err);
        using (var store = SoftPrompt.Server.Store.SqliteStore.Open(data))
            Assert.Empty(store.ListTenants());
        (code, _, err) = CliRunner.Run("serve", "keys", "delete-tenant", tenant, "--data-dir", data);
        Assert.Equal(1, code);
        Assert.Contains($"ID {tenant}: no such tenant", err);
    }

    [Fact]
    public void Keys_on_no_store_or_a_bad_db_are_one_line_errors_naming_the_option()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"sp-serve-keys-missing-{Guid.NewGuid():N}");
        var (code, _, err) = CliRunner.Run("serve", "keys", "list", "--data-dir", missing);
        Assert.Equal(1, code);
        Assert.Equal($"error: --data-dir {missing}: no store there (softprompt.db); give the server's --data-dir, or --db for PostgreSQL.", err.Trim());
        Assert.False(Directory.Exists(missing));

        (code, _, err) = CliRunner.Run("serve", "keys", "list", "--db", "mysql://u:hunter2@h/db");
        Assert.Equal(1, code);
        Assert.StartsWith("error: --db 'mysql://u:***@h/db': expected postgres://", err.Trim());

        (code, _, err) = CliRunner.Run("serve", "keys", "create-key", "--tenant", "../x", "--data-dir", missing);
        Assert.Equal(1, code);
        Assert.Contains("--data-dir", err);
    }

    [Fact]
    public void Serve_keys_is_listed_with_its_verbs_and_serve_with_db()
    {
        var (code, output, _) = CliRunner.Run("serve", "keys", "--help");
        Assert.Equal(0, code);
        foreach (var verb in new[] { "list", "create-tenant", "create-key", "revoke", "delete-tenant", "--data-dir", "--db" }) Assert.Contains(verb, output);
        (code, output, _) = CliRunner.Run("serve", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--db", output);
        Assert.Contains("keys", output);
    }
}
