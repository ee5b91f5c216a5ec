using Prometheus;

namespace SoftPrompt.Server.Hosting;

/// <summary>
/// What /metrics exposes, in Prometheus' text format (prometheus-net), from a registry of this server's own (so two
/// servers in one process, as in the tests, do not mix their counts): requests by route and status with their latency,
/// tokens generated and prefilled (rates give tokens/s), decoding steps' batch sizes and durations, queue depth and
/// wait, rejected (429) and cancelled requests, and the prompt cache's hits, misses, evictions, entries and bytes.
/// Gauges are read when scraped.
/// </summary>
internal sealed class ServerMetrics
{
    static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.001, 2, 16);   // 1 ms .. 33 s
    static readonly double[] RowBuckets = [1, 2, 4, 8, 16, 32, 64, 128];

    readonly Counter _requests, _generated, _prefilled, _rejected, _cancelled;
    readonly Histogram _requestSeconds, _stepSeconds, _batchRows, _queueWaitSeconds, _prefillSeconds;

    public CollectorRegistry Registry { get; } = Prometheus.Metrics.NewCustomRegistry();

    public ServerMetrics()
    {
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        _requests = f.CreateCounter("softprompt_http_requests_total", "HTTP requests answered, by route template, method and status code.", "route", "method", "status");
        _requestSeconds = f.CreateHistogram("softprompt_http_request_duration_seconds", "Time to answer an HTTP request (a stream: until its end), by route template.",
            new HistogramConfiguration { LabelNames = ["route"], Buckets = LatencyBuckets });
        _generated = f.CreateCounter("softprompt_generated_tokens_total", "Tokens generated for completions (its rate is the server's decode tokens/s).");
        _prefilled = f.CreateCounter("softprompt_prefill_tokens_total", "Prompt tokens run through the model (those a stored prompt start held are not counted).");
        _stepSeconds = f.CreateHistogram("softprompt_decode_step_seconds", "Time of one decoding step (one forward pass over the batch).", new HistogramConfiguration { Buckets = LatencyBuckets });
        _prefillSeconds = f.CreateHistogram("softprompt_prefill_seconds", "Time of one first pass over the prompts admitted together.", new HistogramConfiguration { Buckets = LatencyBuckets });
        _batchRows = f.CreateHistogram("softprompt_decode_batch_rows", "Sequences decoded together in one step.", new HistogramConfiguration { Buckets = RowBuckets });
        _queueWaitSeconds = f.CreateHistogram("softprompt_queue_wait_seconds", "Time a completion waited before joining the batch.", new HistogramConfiguration { Buckets = LatencyBuckets });
        _rejected = f.CreateCounter("softprompt_requests_rejected_total", "Completions refused with 429 because the queue was full.");
        _cancelled = f.CreateCounter("softprompt_requests_cancelled_total", "Completions that left the batch early: the client went away or the deadline passed.");
    }

    /// <summary>Gauges read at each scrape: queue depth, rows in flight, the prompt cache.</summary>
    public void Observe(Scheduler scheduler, PromptCache prompts)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        var queue = f.CreateGauge("softprompt_queue_depth", "Completions waiting to join the batch.");
        var active = f.CreateGauge("softprompt_active_rows", "Completions being decoded.");
        var hits = f.CreateCounter("softprompt_prompt_cache_hits_total", "Requests whose task's prompt start was already computed.");
        var misses = f.CreateCounter("softprompt_prompt_cache_misses_total", "Requests that computed their task's prompt start.");
        var evictions = f.CreateCounter("softprompt_prompt_cache_evictions_total", "Prompt starts dropped to stay within the byte bound.");
        var entries = f.CreateGauge("softprompt_prompt_cache_entries", "Tasks whose prompt start is held.");
        var bytes = f.CreateGauge("softprompt_prompt_cache_bytes", "Bytes the held prompt starts and adapters take.");
        var capacity = f.CreateGauge("softprompt_prompt_cache_capacity_bytes", "The prompt cache's bound in bytes.");
        Registry.AddBeforeCollectCallback(() =>
        {
            queue.Set(scheduler.QueueDepth);
            active.Set(scheduler.ActiveRows);
            hits.IncTo(prompts.Hits);
            misses.IncTo(prompts.Misses);
            evictions.IncTo(prompts.Evictions);
            entries.Set(prompts.Count);
            bytes.Set(prompts.Bytes);
            capacity.Set(prompts.CapacityBytes);
        });
    }

    public void Request(string route, string method, int status, TimeSpan elapsed)
    {
        _requests.WithLabels(route, method, status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        _requestSeconds.WithLabels(route).Observe(elapsed.TotalSeconds);
    }

    public void Generated(int tokens) { if (tokens > 0) _generated.Inc(tokens); }
    public void Prefilled(int tokens) => _prefilled.Inc(tokens);
    public void PrefillTook(TimeSpan elapsed) => _prefillSeconds.Observe(elapsed.TotalSeconds);
    public void Stepped(int rows, TimeSpan elapsed) { _batchRows.Observe(rows); _stepSeconds.Observe(elapsed.TotalSeconds); }
    public void QueueWait(TimeSpan waited) => _queueWaitSeconds.Observe(waited.TotalSeconds);
    public void Rejected() => _rejected.Inc();
    public void Cancelled() => _cancelled.Inc();
}
