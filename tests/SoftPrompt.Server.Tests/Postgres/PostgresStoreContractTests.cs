using Npgsql;
using SoftPrompt.Server.Store;
using SoftPrompt.Server.Tests.Store;

namespace SoftPrompt.Server.Tests.Postgres;

/// <summary>The store contract on PostgreSQL: a fresh database a test; a "replica" is a second instance on it with its own data directory.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests(PostgresCluster cluster) : StoreContractTests
{
    readonly string _database = cluster.CreateDatabase().ConnectionString;

    protected override IStore Open(string dataDir) => PostgresStore.Open(_database, dataDir, Clock);

    protected override List<string> ReadColumn(string table, string column)
    {
        using var c = new NpgsqlConnection(_database);
        c.Open();
        using var q = new NpgsqlCommand($"SELECT {column} FROM {table}", c);
        using var r = q.ExecuteReader();
        var values = new List<string>();
        while (r.Read()) values.Add(r.GetString(0));
        return values;
    }
}
