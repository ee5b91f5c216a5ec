using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// Completions' usage, written in batches off the request path: a completion only queues its record; a background loop
/// writes what has queued in one transaction at most every half second, and the rest when the server stops. A process
/// killed outright loses the last half second of usage records — never a task, key or adapter.
/// </summary>
internal sealed class UsageRecorder : IAsyncDisposable
{
    readonly Channel<UsageRecord> _queue = Channel.CreateUnbounded<UsageRecord>(new UnboundedChannelOptions { SingleReader = true });
    readonly IStore _store;
    readonly ILogger _log;
    readonly Task _loop;
    volatile bool _stopping;

    public UsageRecorder(IStore store, ILogger<UsageRecorder> log)
    {
        (_store, _log) = (store, log);
        _loop = Task.Run(Flush);
    }

    public void Record(string tenantId, string model, int promptTokens, int completionTokens) =>
        _queue.Writer.TryWrite(new UsageRecord(tenantId, model, promptTokens, completionTokens, DateTimeOffset.UtcNow));

    async Task Flush()
    {
        var batch = new List<UsageRecord>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < 1024 && _queue.Reader.TryRead(out var r)) batch.Add(r);
            try { _store.RecordUsage(batch); }
            catch (Exception e) { _log.LogError(e, "{Count} usage records could not be written", batch.Count); }
            batch.Clear();
            if (!_stopping) await Task.Delay(500);
        }
    }

    /// <summary>Writes what is queued and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        _queue.Writer.TryComplete();
        await _loop;
    }
}
