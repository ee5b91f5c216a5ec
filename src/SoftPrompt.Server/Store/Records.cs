namespace SoftPrompt.Server.Store;

/// <summary>A tenant: the owner of tasks; an admin tenant may manage others.</summary>
public sealed record Tenant(string Id, string Name, bool IsAdmin);

/// <summary>A tenant as the key-management listing shows it: when it was made and how many keys and tasks it has.</summary>
public sealed record TenantSummary(Tenant Tenant, DateTimeOffset CreatedAt, int Keys, int Tasks);

/// <summary>
/// An API key as listings show it: the first <see cref="StoreIds.KeyHashPrefixLength"/> hex digits of its hash (enough to
/// revoke it by), never the key, which the store does not have.
/// </summary>
public sealed record ApiKeyInfo(string HashPrefix, string TenantId, string Label, DateTimeOffset CreatedAt);

/// <summary>A task row: PromptJson holds what was made (length, passes, demonstrations, a discrete prompt's text).</summary>
public sealed record TaskRecord(string Id, string TenantId, string Name, string Method, string Design, DateTimeOffset CreatedAt, string State, string PromptJson);

/// <summary>
/// A job's life: queued → running (claimed by a replica) → succeeded | failed; cancelled from queued or running. A
/// running job whose replica stops heartbeating is claimed again by another (it stays running, with a new claimant).
/// </summary>
public enum JobState { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>A job: the training of one task's prompt. RequestJson is what the job was asked (method settings, examples);
/// ResultJson what it made, Error why it failed. ClaimedBy and HeartbeatAt say which replica runs it and when it last
/// said so; Attempts counts the claims.</summary>
public sealed record JobRecord(
    string Id, string TenantId, string TaskId, string Method, JobState State, double Progress, string RequestJson,
    string? ResultJson, string? Error, string? ClaimedBy, DateTimeOffset? HeartbeatAt, int Attempts,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public bool IsFinished => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}

/// <summary>One request's tokens against the model it used (the base model's name or a task id), and when.</summary>
public sealed record UsageRecord(string TenantId, string Model, int PromptTokens, int CompletionTokens, DateTimeOffset At);

/// <summary>One tenant's use of one model (the base model's name or a task id) over a period: requests and tokens.</summary>
public sealed record UsageSummary(string Model, long Requests, long PromptTokens, long CompletionTokens)
{
    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>The lowercase names the store and the API use for <see cref="JobState"/>.</summary>
public static class JobStates
{
    public static string Name(JobState s) => s switch
    {
        JobState.Queued => "queued", JobState.Running => "running", JobState.Succeeded => "succeeded",
        JobState.Failed => "failed", JobState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(s), s, "not a job state"),
    };

    public static JobState Parse(string name) => name switch
    {
        "queued" => JobState.Queued, "running" => JobState.Running, "succeeded" => JobState.Succeeded,
        "failed" => JobState.Failed, "cancelled" => JobState.Cancelled,
        _ => throw new InvalidDataException($"jobs.state: unknown job state '{name}' in the store."),
    };
}
