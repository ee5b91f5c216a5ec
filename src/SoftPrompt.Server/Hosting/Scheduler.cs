using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tensors;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// The one thread that runs the model. Completions of every task and method decode together by continuous batching
/// (<see cref="DecodeBatch"/>): between two steps the scheduler admits queued requests (each one's prompt runs alone
/// once, then it joins the batch), drops the ones whose client left or whose deadline passed, and runs other work that
/// needs the model (<see cref="RunAsync"/>: making a task's prompt with the PGM). Requests under full fine-tuning's
/// parameter deltas decode in a batch of their own (one set a batch). The queue is bounded: a request over
/// <see cref="ServerOptions.MaxQueuedRequests"/> is answered 429 with Retry-After at once.
/// </summary>
internal sealed class Scheduler : IAsyncDisposable
{
    readonly ModelHost _host;
    readonly ServerOptions _options;
    readonly ILogger _log;
    readonly ConcurrentQueue<CompletionWork> _queue = new();
    readonly ConcurrentQueue<(Action<LoadedModel> Run, Action<Exception> Fail)> _exclusive = new();
    readonly SemaphoreSlim _wake = new(0);
    readonly Dictionary<IReadOnlyDictionary<string, Tensor>, DecodeBatch> _batches = new(ReferenceEqualityComparer.Instance);
    readonly List<CompletionWork> _active = [];
    readonly Thread _thread;
    volatile bool _stopping;
    int _waiting;

    public Scheduler(ModelHost host, ServerOptions options, ServerMetrics metrics, ILogger<Scheduler> log)
    {
        (_host, _options, Metrics, _log) = (host, options, metrics, log);
        _thread = new Thread(Run) { IsBackground = true, Name = "softprompt-scheduler" };
    }

    public ServerMetrics Metrics { get; }

    /// <summary>Requests waiting to join the batch.</summary>
    public int QueueDepth => Volatile.Read(ref _waiting);

    /// <summary>Requests being decoded.</summary>
    public int ActiveRows { get; private set; }

    public void Start() => _thread.Start();

    /// <summary>Queues a completion, or answers 429 (with Retry-After) when the queue is full.</summary>
    public void Submit(CompletionWork work)
    {
        if (_stopping) throw new ApiException(StatusCodes.Status503ServiceUnavailable, "the server is stopping.") { RetryAfterSeconds = 5 };
        if (Interlocked.Increment(ref _waiting) > _options.MaxQueuedRequests)
        {
            Interlocked.Decrement(ref _waiting);
            Metrics.Rejected();
            throw new ApiException(StatusCodes.Status429TooManyRequests,
                $"the server's queue is full ({_options.MaxQueuedRequests} requests wait already); retry after a second.") { RetryAfterSeconds = 1 };
        }
        _queue.Enqueue(work);
        _wake.Release();
    }

    /// <summary>Runs work with the model, between two decoding steps, on the scheduler's thread.</summary>
    public Task<T> RunAsync<T>(Func<LoadedModel, T> work, CancellationToken ct)
    {
        _ = _host.Ready;
        if (_stopping) throw new ApiException(StatusCodes.Status503ServiceUnavailable, "the server is stopping.") { RetryAfterSeconds = 5 };
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _exclusive.Enqueue((m =>
        {
            if (ct.IsCancellationRequested) { done.TrySetCanceled(ct); return; }
            try { done.TrySetResult(work(m)); }
            catch (Exception e) { done.TrySetException(e); }
        }, e => done.TrySetException(e)));
        _wake.Release();
        return done.Task.WaitAsync(ct);
    }

    void Run()
    {
        LoadedModel m;
        try { m = _host.WhenLoaded.GetAwaiter().GetResult(); }
        catch (Exception e) { _log.LogError(e, "the model did not load; the scheduler stops"); FailAll(e); return; }
        while (!_stopping)
        {
            try
            {
                while (_exclusive.TryDequeue(out var work)) work.Run(m);
                Admit(m);
                DropCancelled();
                ActiveRows = _active.Count;
                if (_active.Count == 0) { _wake.Wait(); continue; }
                Step();
            }
            catch (Exception e)
            {
                // A bug, not a bad request (those fail in Prepare): the rows in flight fail, the server goes on.
                _log.LogError(e, "a decoding step failed; its {Rows} requests end with an error", _active.Count);
                foreach (var w in _active) w.Fail(e);
                _active.Clear();
                _batches.Clear();
            }
        }
        FailAll(new OperationCanceledException("the server is stopping."));
    }

    /// <summary>
    /// Moves queued requests into the batch while it has room: each is prepared (its errors are its own), then the
    /// prompts of each batch group run together in one pass (DecodeBatch.Start with several prompts)
    /// and choose their first tokens.
    /// </summary>
    void Admit(LoadedModel m)
    {
        var admitted = new List<(CompletionWork Work, PreparedCompletion Prepared)>();
        while (_active.Count + admitted.Count < _options.MaxBatchRows && _queue.TryDequeue(out var work))
        {
            Interlocked.Decrement(ref _waiting);
            Metrics.QueueWait(Stopwatch.GetElapsedTime(work.QueuedAt));
            if (work.Cancelled.IsCancellationRequested) { work.Fail(new OperationCanceledException(work.Cancelled)); Metrics.Cancelled(); continue; }
            try { admitted.Add((work, work.Prepare(m))); }
            catch (Exception e)
            {
                if (e is not ApiException) _log.LogError(e, "a completion failed before decoding");
                work.Fail(e);
            }
        }
        foreach (var group in admitted.GroupBy(a => a.Prepared.ParameterDeltas, ReferenceEqualityComparer.Instance))
        {
            var works = group.ToList();
            IReadOnlyList<DecodeSequence> sequences;
            long start = Stopwatch.GetTimestamp();
            try { sequences = Batch(m, works[0].Prepared.ParameterDeltas).Start([.. works.Select(w => ((IReadOnlyList<int>)w.Prepared.Ids, w.Prepared.Options, w.Prepared.Plan))]); }
            catch (Exception e)
            {
                _log.LogError(e, "the first pass of {Count} completions failed", works.Count);
                foreach (var w in works) w.Work.Fail(e);
                continue;
            }
            Metrics.PrefillTook(Stopwatch.GetElapsedTime(start));
            for (int i = 0; i < works.Count; i++)
            {
                var (work, prepared) = works[i];
                work.Begin(prepared, sequences[i]);
                Metrics.Prefilled(prepared.Ids.Length);
                Metrics.Generated(work.Emit());
                if (!sequences[i].IsDone) _active.Add(work);
            }
        }
    }

    DecodeBatch Batch(LoadedModel m, IReadOnlyDictionary<string, Tensor> deltas)
    {
        if (!_batches.TryGetValue(deltas, out var batch)) _batches[deltas] = batch = new DecodeBatch(m.Model, deltas);
        return batch;
    }

    void DropCancelled()
    {
        for (int i = _active.Count - 1; i >= 0; i--)
        {
            var w = _active[i];
            if (!w.Cancelled.IsCancellationRequested) continue;
            foreach (var b in _batches.Values) b.Remove(w.Sequence!);
            w.Fail(new OperationCanceledException(w.Cancelled));
            _active.RemoveAt(i);
            Metrics.Cancelled();
        }
    }

    /// <summary>One forward pass per batch (one in all unless full fine-tuning's rows are in flight); the tokens go out and finished requests leave.</summary>
    void Step()
    {
        foreach (var batch in _batches.Values)
        {
            if (batch.Count == 0) continue;
            long start = Stopwatch.GetTimestamp();
            int rows = batch.Count;
            batch.Step();
            Metrics.Stepped(rows, Stopwatch.GetElapsedTime(start));
        }
        // A batch of its own (full fine-tuning's deltas) goes once empty; the common one stays.
        List<IReadOnlyDictionary<string, Tensor>>? empty = null;
        foreach (var (deltas, batch) in _batches)
            if (batch.Count == 0 && deltas.Count > 0) (empty ??= []).Add(deltas);
        if (empty is not null) foreach (var deltas in empty) _batches.Remove(deltas);
        for (int i = _active.Count - 1; i >= 0; i--)
        {
            Metrics.Generated(_active[i].Emit());
            if (_active[i].Sequence!.IsDone) _active.RemoveAt(i);
        }
    }

    void FailAll(Exception e)
    {
        foreach (var w in _active) w.Fail(e);
        _active.Clear();
        while (_queue.TryDequeue(out var w)) { Interlocked.Decrement(ref _waiting); w.Fail(e); }
        while (_exclusive.TryDequeue(out var work)) work.Fail(e);
    }

    public ValueTask DisposeAsync()
    {
        _stopping = true;
        _wake.Release();
        if (_thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(30));
        return ValueTask.CompletedTask;
    }
}
