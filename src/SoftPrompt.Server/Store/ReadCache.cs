using System.Collections.Concurrent;

namespace SoftPrompt.Server.Store;

/// <summary>
/// The two reads every completion makes — its API key's tenant and its task — kept for a short time, so that a busy
/// server does not run two queries a request (with SQLite on 2 cores they took a fifth of a stored prompt's request).
/// Only found rows are kept (an unknown key or id always asks the database), and of tasks only ready ones (a task
/// being trained changes state). This process's own revocations and deletions clear it at once; another replica's,
/// or the CLI's, are seen here after at most the time to live.
/// </summary>
internal sealed class ReadCache(TimeSpan timeToLive, TimeProvider clock)
{
    /// <summary>Entries kept at most; past it the cache starts again empty (it refills from the requests that come).</summary>
    const int MaxEntries = 10_000;

    readonly ConcurrentDictionary<string, (Tenant Value, long Until)> _tenants = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<(string TenantId, string Id), (TaskRecord Value, long Until)> _tasks = new();
    readonly long _ttl = (long)(timeToLive.TotalSeconds * clock.TimestampFrequency);

    public Tenant? TenantByKey(string key, Func<string, Tenant?> read) => GetOrRead(_tenants, key, () => read(key), _ => true);

    public TaskRecord? Task(string tenantId, string id, Func<TaskRecord?> read) => GetOrRead(_tasks, (tenantId, id), read, t => t.State == "ready");

    /// <summary>The kept value while it lives; otherwise read, and kept when found and <paramref name="keep"/> says so.</summary>
    T? GetOrRead<TKey, T>(ConcurrentDictionary<TKey, (T Value, long Until)> map, TKey key, Func<T?> read, Func<T, bool> keep)
        where TKey : notnull where T : class
    {
        long now = clock.GetTimestamp();
        if (map.TryGetValue(key, out var e) && now < e.Until) return e.Value;
        var value = read();
        if (value is not null && keep(value))
        {
            if (map.Count >= MaxEntries) map.Clear();
            map[key] = (value, now + _ttl);
        }
        return value;
    }

    /// <summary>Forgets everything: called after every write that could make a kept row wrong.</summary>
    public void Clear()
    {
        _tenants.Clear();
        _tasks.Clear();
    }
}
