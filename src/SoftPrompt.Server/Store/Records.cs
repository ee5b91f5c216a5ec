namespace SoftPrompt.Server.Store;

/// <summary>A tenant: the owner of tasks; an admin tenant may later manage others.</summary>
public sealed record Tenant(string Id, string Name, bool IsAdmin);

/// <summary>A task row: PromptJson holds what was made (length, passes, demonstrations, a discrete prompt's text).</summary>
public sealed record TaskRecord(string Id, string TenantId, string Name, string Method, string Design, DateTimeOffset CreatedAt, string State, string PromptJson);
