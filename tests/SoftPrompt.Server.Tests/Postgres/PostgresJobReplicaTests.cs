using System.Text.Json.Nodes;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests.Postgres;

/// <summary>
/// Training jobs on two replicas sharing one PostgreSQL database: each replica's JobRunner claims jobs queued through
/// either, no job runs twice, and a replica that stops mid-job leaves its job to the other once its heartbeat is stale.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresJobReplicaTests(PostgresCluster cluster)
{
    static readonly HttpMethod Get = HttpMethod.Get, Post = HttpMethod.Post;

    static Task<RunningServer> Replica(string url, string? key, int heartbeatSeconds = 30) => RunningServer.Start(TestModels.NewDataDir(), key, o =>
    {
        o.Database = url;
        o.JobPollSeconds = 1;
        o.JobHeartbeatTimeoutSeconds = heartbeatSeconds;
        o.MaxTrainingSteps = 1_000_000;   // room for the blockers below, which never end on their own
    });

    static async Task<string> Queue(RunningServer via, object body)
    {
        var (status, task, _) = await via.Send(Post, "/v1/tasks", via.AdminKey, body);
        Assert.True(status == 202, task?.ToJsonString());
        return (string)task!["job"]!["id"]!;
    }

    static Task<JobRecord> JobWhen(RunningServer s, string jobId, Func<JobRecord, bool> done, string what)
    {
        string tenant = s.Server.Store.FindTenantByKey(s.AdminKey)!.Id;
        return Poll.Until(() => Task.FromResult(s.Server.Store.GetJob(tenant, jobId)!), done, what);
    }

    static async Task<string> Complete(RunningServer s, string model)
    {
        var (status, body, _) = await s.Send(Post, "/v1/completions", s.AdminKey, new { model, prompt = "mn", max_tokens = 5, temperature = 0 });
        Assert.True(status == 200, body?.ToJsonString());
        return (string)body!["choices"]![0]!["text"]!;
    }

    [Fact]
    public async Task Two_replicas_split_the_jobs_queued_through_one_each_job_runs_once_and_either_serves_every_trained_task()
    {
        string url = cluster.CreateDatabase().Url;
        await using var a = await Replica(url, null);
        await using var b = await Replica(url, a.AdminKey);
        RunningServer ByReplica(string replicaId) => new[] { a, b }.Single(s => s.Server.Jobs.ReplicaId == replicaId);

        // Which replica claims a job depends on who is free and when each looks; a blocker (a job that never ends by
        // itself, cancelled when done with) keeps one replica busy, so that the next job can only go to the other.
        object Blocker() => JobsTests.Body("prompt", 1_000_000);
        object Real(int i) => JobsTests.Body("prompt", 30, new { name = $"real {i}", seed = 10 + i });
        string blocker1 = await Queue(a, Blocker());
        var p = ByReplica((await JobWhen(a, blocker1, j => j.State == JobState.Running, "claimed")).ClaimedBy!);
        var q = p == a ? b : a;
        string real1 = await Queue(a, Real(1));   // p is busy: only q can take it
        await JobWhen(a, real1, j => j.State == JobState.Succeeded, "done");
        string blocker2 = await Queue(a, Blocker());   // p is still busy: q takes this one
        await JobWhen(a, blocker2, j => j.State == JobState.Running, "claimed");
        Assert.Equal(200, (await a.Send(Post, $"/v1/fine_tuning/jobs/{blocker1}/cancel", a.AdminKey)).Status);
        await Poll.Until(() => Task.FromResult(p.Server.Jobs.Current), current => current is null, "the first blocker stopped");
        string real2 = await Queue(a, Real(2));   // q is busy now: only p can take it
        await JobWhen(a, real2, j => j.State == JobState.Succeeded, "done");
        Assert.Equal(200, (await a.Send(Post, $"/v1/fine_tuning/jobs/{blocker2}/cancel", a.AdminKey)).Status);
        // Then two more queued together, free for all.
        string[] rest = [await Queue(a, Real(3)), await Queue(a, Real(4))];
        foreach (var id in rest) await JobWhen(a, id, j => j.IsFinished, "finished");

        string tenant = a.Server.Store.FindTenantByKey(a.AdminKey)!.Id;
        var jobs = new[] { real1, real2 }.Concat(rest).Select(id => a.Server.Store.GetJob(tenant, id)!).ToList();
        Assert.All(jobs, j => Assert.Equal((JobState.Succeeded, 1), (j.State, j.Attempts)));   // each claimed once, by one replica
        Assert.Equal(q.Server.Jobs.ReplicaId, jobs[0].ClaimedBy);
        Assert.Equal(p.Server.Jobs.ReplicaId, jobs[1].ClaimedBy);
        Assert.Equal(JobState.Cancelled, a.Server.Store.GetJob(tenant, blocker1)!.State);

        // Every trained task completes the same through either replica (the other one reads the adapter from the database).
        foreach (var j in jobs)
            Assert.Equal(await Complete(a, j.TaskId), await Complete(b, j.TaskId));
    }

    [Fact]
    public async Task A_replica_stopped_mid_job_leaves_the_job_to_the_other_which_ends_it_as_an_uninterrupted_run()
    {
        string url = cluster.CreateDatabase().Url;
        // The heartbeat goes stale after 2 s (reports come every 0.5 s while training: margin for a slow step on a busy machine).
        var a = await Replica(url, null, heartbeatSeconds: 2);
        var b = await Replica(url, a.AdminKey, heartbeatSeconds: 2);
        var replicas = new List<RunningServer> { a, b };
        try
        {
            // Long enough that the replica is stopped mid-job: 150 steps once ended before the stop took effect.
            var body = JobsTests.Body("prompt", 1200);
            string jobId = await Queue(a, body);
            var running = await JobWhen(a, jobId, j => j.State == JobState.Running && j.Progress >= 0.2, "20 % trained");
            var stopped = replicas.Single(s => s.Server.Jobs.ReplicaId == running.ClaimedBy);
            var survivor = replicas.Single(s => s != stopped);
            replicas.Remove(stopped);
            await stopped.DisposeAsync();   // its runner stops mid-job: no more heartbeats, the job stays claimed by it

            var done = await JobWhen(survivor, jobId, j => j.IsFinished, "finished by the survivor");
            Assert.Equal((JobState.Succeeded, 2, survivor.Server.Jobs.ReplicaId), (done.State, done.Attempts, done.ClaimedBy));
            var task = (await survivor.Send(Get, $"/v1/tasks/{done.TaskId}", survivor.AdminKey)).Body!;
            Assert.Equal("ready", (string)task["state"]!);

            // The checkpoint stayed on the stopped replica's disk, so the survivor trained from step 0: same seed, same losses.
            string straightJob = await Queue(survivor, body);
            var straight = await JobWhen(survivor, straightJob, j => j.IsFinished, "finished");
            var straightTask = (await survivor.Send(Get, $"/v1/tasks/{straight.TaskId}", survivor.AdminKey)).Body!;
            Assert.Equal(straightTask["metrics"]!["curve"]!.ToJsonString(), task["metrics"]!["curve"]!.ToJsonString());
            Assert.Equal(await Complete(survivor, straight.TaskId), await Complete(survivor, done.TaskId));
        }
        finally
        {
            foreach (var s in replicas) await s.DisposeAsync();
        }
    }
}
