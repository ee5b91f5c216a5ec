using System.CommandLine;
using SoftPrompt.Server.Store;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt serve keys list|create-tenant|create-key|revoke|delete-tenant</c>: the operator's tenant and API key
/// management, straight on the store a server uses (--data-dir for SQLite, or --db for PostgreSQL), running or not. A
/// new key is printed once: the store keeps only its hash, and listings show the hash's first digits, which revoke takes.
/// </summary>
internal static class ServeKeysCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir") { Description = "The server's data directory (its SQLite store, softprompt.db).", DefaultValueFactory = _ => "softprompt-data", Recursive = true };
        var db = new Option<string?>("--db") { Description = "The server's PostgreSQL instead: postgres://user:password@host:port/database or an Npgsql connection string.", Recursive = true };
        var cmd = new Command("keys", "Manage tenants and their API keys in the server's store.") { dataDir, db };
        cmd.Subcommands.Add(List(dataDir, db));
        cmd.Subcommands.Add(CreateTenant(dataDir, db));
        cmd.Subcommands.Add(CreateKey(dataDir, db));
        cmd.Subcommands.Add(Revoke(dataDir, db));
        cmd.Subcommands.Add(DeleteTenant(dataDir, db));
        return cmd;
    }

    /// <summary>The store the options name. Only create-tenant may start a new SQLite store; the others need one that exists.</summary>
    static IStore Open(ParseResult parse, Option<string> dataDir, Option<string?> db, bool mayCreate = false)
    {
        string dir = parse.GetValue(dataDir)!, database = parse.GetValue(db) ?? "";
        if (database.Length == 0 && !mayCreate && !File.Exists(Path.Combine(dir, SqliteStore.FileName)))
            throw new ArgumentException($"--data-dir {dir}: no store there ({SqliteStore.FileName}); give the server's --data-dir, or --db for PostgreSQL.");
        return StoreFactory.Open(database, dir);
    }

    static Command List(Option<string> dataDir, Option<string?> db)
    {
        var cmd = new Command("list", "The tenants (keys and tasks each) and every API key by hash prefix.");
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            using var store = Open(parse, dataDir, db);
            var tenants = new Table().AddColumn("tenant").AddColumn("name").AddColumn("admin").AddColumn(new TableColumn("keys").RightAligned())
                .AddColumn(new TableColumn("tasks").RightAligned()).AddColumn("created (UTC)");
            foreach (var t in store.ListTenants())
                tenants.AddRow(t.Tenant.Id, Markup.Escape(t.Tenant.Name), t.Tenant.IsAdmin ? "yes" : "", t.Keys.ToString(), t.Tasks.ToString(), Time(t.CreatedAt));
            var keys = new Table().AddColumn("key hash prefix").AddColumn("tenant").AddColumn("label").AddColumn("created (UTC)");
            foreach (var k in store.ListKeys()) keys.AddRow(k.HashPrefix, k.TenantId, Markup.Escape(k.Label), Time(k.CreatedAt));
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(store.Description)}[/]");
            AnsiConsole.Write(tenants);
            AnsiConsole.Write(keys);
            return 0;
        }));
        return cmd;
    }

    static Command CreateTenant(Option<string> dataDir, Option<string?> db)
    {
        var name = new Argument<string>("NAME") { Description = "The tenant's name." };
        var admin = new Option<bool>("--admin") { Description = "An admin tenant: its keys may use /v1/admin (tenants and keys)." };
        var cmd = new Command("create-tenant", "A new tenant and its first API key (printed once).") { name, admin };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            using var store = Open(parse, dataDir, db, mayCreate: true);
            var (tenant, key) = store.CreateTenant(parse.GetValue(name)!, parse.GetValue(admin));
            AnsiConsole.MarkupLine($"tenant [bold]{tenant.Id}[/] ({Markup.Escape(tenant.Name)}{(tenant.IsAdmin ? ", admin" : "")})");
            PrintKey(key);
            return 0;
        }));
        return cmd;
    }

    static Command CreateKey(Option<string> dataDir, Option<string?> db)
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant's id (keys list shows it).", Required = true };
        var label = new Option<string>("--label") { Description = "What the key is for, shown in listings.", DefaultValueFactory = _ => "" };
        var cmd = new Command("create-key", "Another API key for a tenant (printed once).") { tenant, label };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            using var store = Open(parse, dataDir, db);
            string id = parse.GetValue(tenant)!;
            if (!StoreIds.IsTenantId(id)) throw new ArgumentException($"--tenant {id}: not a tenant id (tenant- and 16 hex digits, as keys list shows).");
            PrintKey(store.CreateKey(id, parse.GetValue(label)!));
            return 0;
        }));
        return cmd;
    }

    static Command Revoke(Option<string> dataDir, Option<string?> db)
    {
        var prefix = new Argument<string>("HASH_PREFIX") { Description = $"The key's hash prefix as keys list shows it (at least {StoreIds.MinRevokePrefixLength} hex digits)." };
        var cmd = new Command("revoke", "Revoke an API key: requests with it answer 401 from then on.") { prefix };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            using var store = Open(parse, dataDir, db);
            string p = parse.GetValue(prefix)!;
            var key = store.RevokeKey(p) ?? throw new ArgumentException($"HASH_PREFIX {p}: no key's hash starts with it (keys list shows them).");
            AnsiConsole.MarkupLine($"revoked key {key.HashPrefix} of {key.TenantId} ({Markup.Escape(key.Label)})");
            return 0;
        }));
        return cmd;
    }

    static Command DeleteTenant(Option<string> dataDir, Option<string?> db)
    {
        var id = new Argument<string>("ID") { Description = "The tenant's id (keys list shows it)." };
        var cmd = new Command("delete-tenant", "Delete a tenant with its keys, tasks (and adapters), jobs and usage.") { id };
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            using var store = Open(parse, dataDir, db);
            string t = parse.GetValue(id)!;
            if (!StoreIds.IsTenantId(t) || !store.DeleteTenant(t)) throw new ArgumentException($"ID {t}: no such tenant (keys list shows them).");
            AnsiConsole.MarkupLine($"deleted tenant {t}");
            return 0;
        }));
        return cmd;
    }

    static void PrintKey(string key) => AnsiConsole.MarkupLine($"API key (shown once; only its hash is stored): [bold]{key}[/]");

    static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
}
