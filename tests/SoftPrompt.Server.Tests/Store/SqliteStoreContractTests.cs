using Microsoft.Data.Sqlite;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests.Store;

/// <summary>The store contract on SQLite: every instance opens the same file (one data directory); a "replica" is a second instance on it.</summary>
public sealed class SqliteStoreContractTests : StoreContractTests
{
    readonly string _dataDir = TestModels.NewDataDir();

    // SQLite's adapters live in the data directory, so every instance of one store shares it.
    protected override IStore Open(string dataDir) => SqliteStore.Open(_dataDir, Clock);

    protected override List<string> ReadColumn(string table, string column)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(_dataDir, SqliteStore.FileName)};Pooling=False");
        c.Open();
        using var q = c.CreateCommand();
        q.CommandText = $"SELECT {column} FROM {table}";
        using var r = q.ExecuteReader();
        var values = new List<string>();
        while (r.Read()) values.Add(r.GetString(0));
        return values;
    }
}
