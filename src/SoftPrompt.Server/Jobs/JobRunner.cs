using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Store;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Training;

namespace SoftPrompt.Server.Jobs;

/// <summary>
/// Trains tasks' prompts, one job at a time per replica, on a thread of its own beside the scheduler (the engine
/// serialises their kernels; the frozen weights are only read). It claims the oldest queued job — or one whose replica
/// stopped heartbeating — from the store, trains it with the ordinary <see cref="Trainer"/> in DATA/jobs/&lt;job id&gt;/
/// (checkpoints there, so a job claimed again after a crash or a restart resumes where its last checkpoint left it and
/// reproduces the uninterrupted run), reports progress (which is also its heartbeat), and at the end stores the adapter
/// as the task's, marks the task ready with its training curve, and removes the job's folder: training state does not
/// outlive the job. A job cancelled by its tenant, or whose task was deleted, stops at its next report.
/// </summary>
internal sealed class JobRunner : IAsyncDisposable
{
    readonly IStore _store;
    readonly ModelHost _host;
    readonly PromptCache _prompts;
    readonly ServerOptions _options;
    readonly ILogger _log;
    readonly CancellationTokenSource _stop = new();
    readonly SemaphoreSlim _wake = new(0);
    readonly Thread _thread;

    public JobRunner(IStore store, ModelHost host, PromptCache prompts, ServerOptions options, ILogger<JobRunner> log)
    {
        (_store, _host, _prompts, _options, _log) = (store, host, prompts, options, log);
        ReplicaId = $"{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        _thread = new Thread(Run) { IsBackground = true, Name = "softprompt-jobs" };
    }

    /// <summary>This process's name in the jobs it claims.</summary>
    public string ReplicaId { get; }

    /// <summary>The job being trained now, or null.</summary>
    public string? Current { get; private set; }

    public void Start() => _thread.Start();

    /// <summary>A job was queued here: look now rather than at the next poll.</summary>
    public void Wake() => _wake.Release();

    /// <summary>DATA/jobs/&lt;job id&gt;: the trainer's output and checkpoints while the job runs.</summary>
    public string JobDirectory(string jobId) =>
        StoreIds.IsJobId(jobId) ? Path.Combine(_store.DataDir, "jobs", jobId) : throw new ArgumentException($"not a job id: {jobId}");

    void Run()
    {
        LoadedModel m;
        try { m = _host.WhenLoaded.GetAwaiter().GetResult(); }
        catch (Exception e) { _log.LogError(e, "the model did not load; no job runs"); return; }
        var timeout = TimeSpan.FromSeconds(_options.JobHeartbeatTimeoutSeconds);
        while (!_stop.IsCancellationRequested)
        {
            JobRecord? job = null;
            try { job = _store.ClaimNextJob(ReplicaId, timeout); }
            catch (Exception e) { _log.LogError(e, "claiming a job failed"); }
            if (job is null)
            {
                try { _wake.Wait(TimeSpan.FromSeconds(_options.JobPollSeconds), _stop.Token); } catch (OperationCanceledException) { }
                continue;
            }
            Current = job.Id;
            try { RunJob(m, job); }
            finally { Current = null; }
        }
    }

    void RunJob(LoadedModel m, JobRecord job)
    {
        string dir = JobDirectory(job.Id);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var clock = Stopwatch.StartNew();
        try
        {
            var request = TuningJobRequest.FromJson(job.RequestJson);
            var (method, task, train, options) = request.Build(m);
            _store.UpdateTask(job.TaskId, "training", Describe(request, method.TrainableParameters, null, null));
            var trainer = new Trainer(m.Model, method, task, train, null, options, dir, new JsonObject { ["base_model"] = _host.ModelName });
            long lastReport = 0;
            var progress = new InlineProgress<TrainingProgress>(p =>
            {
                // Progress is the heartbeat; at most a few writes a second, and always the last step.
                if (p.Step < p.MaxSteps && Stopwatch.GetElapsedTime(lastReport).TotalSeconds < 0.5) return;
                lastReport = Stopwatch.GetTimestamp();
                if (!_store.UpdateJobProgress(job.Id, ReplicaId, (double)p.Step / p.MaxSteps)) cancel.Cancel();
            });
            var result = trainer.Train(progress, cancel.Token);
            var curve = Curve(Path.Combine(dir, "train_log.jsonl"));
            string adapter = _store.AdapterPath(job.TaskId);
            Directory.CreateDirectory(adapter);
            foreach (var name in new[] { AdapterDirectory.ConfigFile, AdapterDirectory.WeightsFile, AdapterDirectory.ExtrasFile })
                File.Copy(Path.Combine(dir, name), Path.Combine(adapter, name), overwrite: true);
            _store.SaveAdapter(job.TaskId, adapter);
            _prompts.Forget(job.TaskId);
            double? last = result.Losses.Count > 0 ? result.Losses[^1] : curve.LastOrDefault()?.AsArray()[1]?.GetValue<double>();
            var described = JsonNode.Parse(Describe(request, method.TrainableParameters, curve, last))!.AsObject();
            using (SoftPrompt.Tensors.Autograd.Tape.NoGrad())
                if (PromptNearestTokens.Json(method.Compute().VirtualTokens, m, _options.NearestTokens) is { } nearest) described["nearest_tokens"] = nearest;
            string description = described.ToJsonString();
            // The training state leaves first: a crash before the job is marked done costs a retraining (which ends the
            // same), never a task without its adapter.
            Cleanup(dir);
            if (!_store.UpdateTask(job.TaskId, "ready", description)) return;   // the task was deleted meanwhile
            _store.FinishJob(job.Id, ReplicaId, JobState.Succeeded, new JsonObject
            {
                ["steps"] = result.Steps, ["final_loss"] = last, ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 2), ["skipped_non_finite"] = result.SkippedNonFinite,
            }.ToJsonString(), null);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The server is stopping: the checkpoint stays, the job stays claimed; once its heartbeat is stale this or
            // another replica claims it again and the trainer resumes from the checkpoint.
        }
        catch (OperationCanceledException)
        {
            // Cancelled by its tenant, its task deleted, or claimed by another replica after a stall.
            var now = _store.GetJob(job.TenantId, job.Id);
            if (now is null || now.State == JobState.Cancelled)
            {
                _store.UpdateTask(job.TaskId, "cancelled", Describe(TuningJobRequest.FromJson(job.RequestJson), 0, null, null));
                Cleanup(dir);
            }
        }
        catch (Exception e)
        {
            _log.LogWarning(e, "job {Job} (task {Task}) failed", job.Id, job.TaskId);
            string message = e is ArgumentException or TrainingDivergedException or IOException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            _store.FinishJob(job.Id, ReplicaId, JobState.Failed, null, message);
            var failed = JsonNode.Parse(Describe(TuningJobRequest.FromJson(job.RequestJson), 0, null, null))!.AsObject();
            failed["error"] = message;
            _store.UpdateTask(job.TaskId, "failed", failed.ToJsonString());
            Cleanup(dir);
        }
    }

    /// <summary>The task's prompt description: the method's settings and, once trained, its loss curve.</summary>
    static string Describe(TuningJobRequest r, long parameters, JsonArray? curve, double? finalLoss)
    {
        var o = new JsonObject
        {
            ["method"] = r.Method, ["steps"] = r.Steps, ["examples"] = r.Examples.Count,
        };
        if (r.Method is "prompt" or "ptuning" or "prefix" or "deep") o["num_virtual_tokens"] = r.VirtualTokens;
        if (r.Method == "lora") o["lora_r"] = r.LoraRank;
        if (parameters > 0) o["trainable_parameters"] = parameters;
        if (finalLoss is double l) o["final_loss"] = Math.Round(l, 6);
        if (curve is not null) o["curve"] = curve;
        return o.ToJsonString();
    }

    /// <summary>[[step, loss], …] from the trainer's log, thinned to at most 200 points (the last always kept).</summary>
    static JsonArray Curve(string log)
    {
        var points = new List<(long Step, double Loss)>();
        if (File.Exists(log))
            foreach (var line in File.ReadLines(log))
                if (line.Length > 0 && JsonNode.Parse(line) is JsonObject o && o["step"] is { } s && o["loss"] is { } l)
                    points.Add(((long)s, (double)l));
        const int most = 200;
        var curve = new JsonArray();
        int count = Math.Min(points.Count, most);
        for (int k = 0; k < count; k++)
        {
            // Evenly spread over the run, first and last included.
            int i = points.Count <= most ? k : (int)Math.Round(k * (points.Count - 1) / (double)(most - 1));
            curve.Add(new JsonArray(points[i].Step, Math.Round(points[i].Loss, 6)));
        }
        return curve;
    }

    static void Cleanup(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _wake.Release();
        if (_thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(30));
        return ValueTask.CompletedTask;
    }
}
