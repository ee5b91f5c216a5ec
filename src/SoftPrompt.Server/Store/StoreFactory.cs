namespace SoftPrompt.Server.Store;

/// <summary>The store the options name: PostgreSQL when --db is given, otherwise SQLite under the data directory.</summary>
public static class StoreFactory
{
    public static IStore Open(string? database, string dataDir, TimeProvider? clock = null) =>
        string.IsNullOrWhiteSpace(database) ? SqliteStore.Open(dataDir, clock) : PostgresStore.Open(database, dataDir, clock);
}
