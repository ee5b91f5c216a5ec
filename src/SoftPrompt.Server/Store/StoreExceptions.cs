namespace SoftPrompt.Server.Store;

/// <summary>A write for a tenant that was deleted meanwhile (its keys with it): the request's key is no longer valid (401).</summary>
public sealed class TenantGoneException(string tenantId) : Exception($"tenant '{tenantId}' was deleted while the request ran: its API keys are no longer valid.");

/// <summary>A write for a task that was deleted meanwhile (404, as for a task that never was).</summary>
public sealed class TaskGoneException(string taskId) : Exception($"task '{taskId}' was deleted while the request ran.");
