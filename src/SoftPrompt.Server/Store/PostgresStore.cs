using System.Data.Common;
using Npgsql;

namespace SoftPrompt.Server.Store;

/// <summary>
/// The store for several replicas behind a load balancer: one PostgreSQL database (Npgsql, pooled connections) that every
/// replica reads and writes, so any replica serves any task and jobs are claimed with SELECT … FOR UPDATE SKIP LOCKED.
/// <para>
/// Adapters live in the database (task_files: task id, file name, bytes), because replicas share no filesystem: the
/// replica that makes a task writes its adapter folder locally as always, then <see cref="SaveAdapter"/> copies the files
/// into task_files before the task row is inserted. A replica asked for a task it has not seen materialises the files
/// into its own cache, DATA/adapters/&lt;task id&gt;/ under its --data-dir (written aside and renamed into place, so a
/// folder there is always whole), and loads it from there. An adapter is written once and never changes, so a cached
/// folder never goes stale; folders of tasks deleted through other replicas are pruned when a replica starts.
/// </para>
/// </summary>
public sealed class PostgresStore : SqlStore
{
    /// <summary>Cache and partial folders younger than this are left alone at start: another process on the same data dir may be writing them.</summary>
    static readonly TimeSpan PruneAfter = TimeSpan.FromHours(1);

    readonly NpgsqlDataSource _source;

    public override string Description { get; }

    PostgresStore(NpgsqlConnectionStringBuilder connection, string dataDir, TimeProvider? clock) : base(dataDir, clock)
    {
        Description = PostgresConnection.Describe(connection);
        _source = NpgsqlDataSource.Create(connection);
    }

    /// <summary>
    /// Connects (a postgres:// URL or an Npgsql connection string, as <see cref="PostgresConnection.Parse"/> reads it),
    /// applies the schema migrations the database lacks, and prunes this replica's adapter cache under dataDir. A database
    /// that cannot be reached is an <see cref="IOException"/> naming it (never its password).
    /// </summary>
    public static PostgresStore Open(string database, string dataDir, TimeProvider? clock = null)
    {
        var store = new PostgresStore(PostgresConnection.Parse(database), dataDir, clock);
        try
        {
            Directory.CreateDirectory(Path.Combine(store.DataDir, AdaptersFolder));
            using (var c = store._source.OpenConnection()) PostgresMigrations.Apply(c);
            store.PruneAdapterCache();
            return store;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            store.Dispose();
            throw new IOException($"--db ({store.Description}): {e.Message}", e);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    protected override DbConnection Connect() => _source.OpenConnection();

    protected override object Timestamp(DateTimeOffset t) => t.UtcDateTime;

    protected override DateTimeOffset ReadTimestamp(DbDataReader r, int ordinal) => r.GetFieldValue<DateTimeOffset>(ordinal);

    protected override string ClaimRowLock => " FOR UPDATE SKIP LOCKED";

    protected override void SerializeFirstAdmin(DbConnection c, DbTransaction tx) => Exec(c, tx, $"SELECT pg_advisory_xact_lock({PostgresMigrations.LockKey})");

    protected override void DeleteStoredAdapters(DbConnection c, DbTransaction tx, string taskWhere, params (string, object?)[] args) =>
        Exec(c, tx, $"DELETE FROM task_files WHERE task_id IN (SELECT id FROM tasks WHERE {taskWhere})", args);

    /// <summary>The folder's files into task_files, in one transaction. An adapter is written once: a task that has one already is refused.</summary>
    public override void SaveAdapter(string taskId, string directory)
    {
        AdapterPath(taskId);   // only a task id the server makes
        var files = AdapterFiles.Read(directory);
        using var c = Connect();
        using var tx = c.BeginTransaction();
        try
        {
            foreach (var (name, bytes) in files)
                Exec(c, tx, "INSERT INTO task_files (task_id, name, bytes) VALUES (@t, @n, @b)", ("@t", taskId), ("@n", name), ("@b", bytes));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new InvalidOperationException($"task {taskId}: already has an adapter in the database; an adapter is written once.", e);
        }
        tx.Commit();
    }

    public override string MaterializeAdapter(string taskId)
    {
        string path = AdapterPath(taskId);
        if (Directory.Exists(path)) return path;   // whole: folders appear by rename, and adapters never change
        using var c = Connect();
        var files = Query(c, null, "SELECT name, bytes FROM task_files WHERE task_id = @t ORDER BY name", r => (r.GetString(0), (byte[])r.GetValue(1)), ("@t", taskId));
        if (files.Count == 0) throw new InvalidDataException($"task {taskId}: its adapter is not in the database (no task_files rows).");
        AdapterFiles.WriteFolder(path, files);
        return path;
    }

    public override void DeleteAdapter(string taskId)
    {
        AdapterPath(taskId);
        using (var c = Connect()) Exec(c, null, "DELETE FROM task_files WHERE task_id = @t", ("@t", taskId));
        DeleteLocalAdapter(taskId);
    }

    /// <summary>Removes cached folders of tasks no longer in the database (deleted through another replica) and partial folders left by a stop mid-write.</summary>
    void PruneAdapterCache()
    {
        var root = new DirectoryInfo(Path.Combine(DataDir, AdaptersFolder));
        var old = root.EnumerateDirectories().Where(d => Clock.GetUtcNow() - d.LastWriteTimeUtc > PruneAfter).ToList();
        foreach (var d in old.Where(d => AdapterFiles.IsPartialFolder(d.Name))) d.Delete(recursive: true);
        string[] cached = [.. old.Select(d => d.Name).Where(StoreIds.IsTaskId)];
        if (cached.Length == 0) return;
        using var c = Connect();
        var live = Query(c, null, "SELECT id FROM tasks WHERE id = ANY(@ids)", r => r.GetString(0), ("@ids", cached)).ToHashSet();
        foreach (var id in cached.Where(id => !live.Contains(id))) DeleteLocalAdapter(id);
    }

    public override void Dispose()
    {
        _source.Dispose();
        base.Dispose();
    }
}
