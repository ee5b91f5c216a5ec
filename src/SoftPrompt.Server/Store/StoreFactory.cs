namespace SoftPrompt.Server.Store;

/// <summary>The store the options name: PostgreSQL when --db is given, otherwise SQLite under the data directory.</summary>
public static class StoreFactory
{
    /// <summary>
    /// Opens the store; with <paramref name="cacheReads"/> above zero it keeps API keys' tenants and ready tasks for that
    /// long (the server's hot path, see <see cref="ReadCache"/>); otherwise every read asks the database.
    /// </summary>
    public static IStore Open(string? database, string dataDir, TimeProvider? clock = null, TimeSpan cacheReads = default)
    {
        SqlStore store = string.IsNullOrWhiteSpace(database) ? SqliteStore.Open(dataDir, clock) : PostgresStore.Open(database, dataDir, clock);
        store.CacheReads(cacheReads);
        return store;
    }
}
