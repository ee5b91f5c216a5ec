using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SoftPrompt.Server.Store;

/// <summary>
/// The default store: one SQLite file (DATA/softprompt.db) in WAL mode, so readers never wait for the writer, with
/// synchronous=NORMAL (WAL's usual setting: a committed transaction survives the process being killed; only a power
/// loss may take the last ones back). Every call takes a connection from Microsoft.Data.Sqlite's pool — opening the file
/// for each of a completion's lookups cost more than the lookups — and <see cref="Dispose"/> closes the pool's
/// connections, so a stopped server leaves nothing open.
/// A task's adapter is a folder of files (DATA/adapters/&lt;task id&gt;/), not a blob in a row: one process (or several
/// on one machine) reads it where it was written, and <c>softprompt generate --adapter</c> can too. Timestamps are
/// ISO 8601 text in UTC with seven decimals, so they order as strings.
/// </summary>
public sealed class SqliteStore : SqlStore
{
    public const string FileName = "softprompt.db";
    readonly string _connectionString;

    SqliteStore(string dataDir, TimeProvider? clock) : base(dataDir, clock)
    {
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(DataDir, FileName), Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, ForeignKeys = true, DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Opens (or creates) the store under dataDir and applies the schema migrations it lacks.</summary>
    public static SqliteStore Open(string dataDir, TimeProvider? clock = null)
    {
        Directory.CreateDirectory(dataDir);
        var store = new SqliteStore(dataDir, clock);
        Directory.CreateDirectory(Path.Combine(store.DataDir, AdaptersFolder));
        using var c = store.OpenConnection();
        using (var wal = c.CreateCommand()) { wal.CommandText = "PRAGMA journal_mode=WAL"; wal.ExecuteNonQuery(); }
        SqliteMigrations.Apply(c);
        return store;
    }

    public override string Description => $"SQLite {Path.Combine(DataDir, FileName)}";

    protected override DbConnection Connect() => OpenConnection();

    SqliteConnection OpenConnection()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var busy = c.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout=30000; PRAGMA synchronous=NORMAL";
        busy.ExecuteNonQuery();
        return c;
    }

    protected override object Timestamp(DateTimeOffset t) => t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    protected override DateTimeOffset ReadTimestamp(DbDataReader r, int ordinal) => DateTimeOffset.Parse(r.GetString(ordinal), CultureInfo.InvariantCulture);

    /// <summary>The adapter's home is its local folder: a folder written elsewhere is copied there; one written in place stays.</summary>
    public override void SaveAdapter(string taskId, string directory)
    {
        string home = AdapterPath(taskId);
        if (Path.GetFullPath(directory) == home) return;
        var files = AdapterFiles.Read(directory);
        DeleteLocalAdapter(taskId);
        AdapterFiles.WriteFolder(home, files);
    }

    public override string MaterializeAdapter(string taskId) => AdapterPath(taskId);

    public override void Dispose()
    {
        using (var c = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(c);
        base.Dispose();
    }
}
