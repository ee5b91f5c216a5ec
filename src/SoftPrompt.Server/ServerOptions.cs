namespace SoftPrompt.Server;

/// <summary>
/// The server's settings, bound from configuration section "SoftPrompt" (command line <c>--SoftPrompt:DataDir DIR</c>,
/// environment <c>SoftPrompt__DataDir</c>, or set in code). Paths come from the operator, never from a request.
/// </summary>
public sealed class ServerOptions
{
    public const string Section = "SoftPrompt";

    /// <summary>The frozen model: a Hugging Face checkpoint directory (config.json, safetensors, tokenizer.json).</summary>
    public string? ModelDir { get; set; }

    /// <summary>How the model's matrices are held (--dtype): as stored, float32, or bf16 (half the memory and the bytes a decoding step reads).</summary>
    public SoftPrompt.Models.Safetensors.WeightStorage WeightStorage { get; set; } = SoftPrompt.Models.Safetensors.WeightStorage.AsStored;

    /// <summary>The name clients use for the base model (default: the model directory's name).</summary>
    public string? ModelName { get; set; }

    /// <summary>A meta-trained PGM directory (pgm_config.json, pgm.safetensors) for method "metal".</summary>
    public string? PgmDir { get; set; }

    /// <summary>The store (softprompt.db) and the adapters (adapters/&lt;task id&gt;/); with <see cref="Database"/>, this replica's cache of the adapters.</summary>
    public string DataDir { get; set; } = "softprompt-data";

    /// <summary>
    /// PostgreSQL for several replicas (--db): <c>postgres://user:password@host:port/database</c> or an Npgsql connection
    /// string. Absent: SQLite in <see cref="DataDir"/>.
    /// </summary>
    public string? Database { get; set; }

    /// <summary>Largest request body in bytes (Kestrel answers 413 above it).</summary>
    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Most examples a task may be created from.</summary>
    public int MaxExamples { get; set; } = 256;

    /// <summary>Most characters of all examples' inputs and outputs together.</summary>
    public int MaxExampleChars { get; set; } = 200_000;

    /// <summary>Longest task name, in characters.</summary>
    public int MaxNameLength { get; set; } = 200;

    /// <summary>Most tokens a completion may ask for.</summary>
    public int MaxTokens { get; set; } = 1024;

    /// <summary>Longest completion prompt, in characters (token limits come from the model's context).</summary>
    public int MaxPromptChars { get; set; } = 100_000;

    /// <summary>Completions decoded together in one step (continuous batching); more wait in the queue.</summary>
    public int MaxBatchRows { get; set; } = 32;

    /// <summary>Completions that may wait for a place in the batch; one more is answered 429 with Retry-After.</summary>
    public int MaxQueuedRequests { get; set; } = 256;

    /// <summary>Seconds a completion may take, queue included; past it the request ends with 503 (a stream: an error event).</summary>
    public int RequestTimeoutSeconds { get; set; } = 300;

    /// <summary>Most training steps a tuning task may ask for.</summary>
    public int MaxTrainingSteps { get; set; } = 5000;

    /// <summary>Seconds without a job's heartbeat (its progress) after which another replica — or this one, restarted — claims it again.</summary>
    public int JobHeartbeatTimeoutSeconds { get; set; } = 30;

    /// <summary>Seconds between two looks for queued jobs when idle (a job queued on this replica wakes it at once).</summary>
    public int JobPollSeconds { get; set; } = 2;

    /// <summary>Bytes of tasks' prompt starts (keys and values) and adapters kept in memory; least recently used leave first.</summary>
    public long PromptCacheBytes { get; set; } = 512L << 20;

    /// <summary>
    /// Seconds an API key's tenant and a ready task, once read, are kept in memory instead of queried on every request
    /// (0: always query). This server's own revocations and deletions take effect at once; another replica's, or
    /// `softprompt serve keys revoke` run beside it, within this time.
    /// </summary>
    public double StoreCacheSeconds { get; set; } = 1;

    /// <summary>Largest adapter archive POST /v1/adapters accepts, in bytes (413 above it).</summary>
    public long MaxAdapterBytes { get; set; } = 64L << 20;

    /// <summary>Most bytes an adapter archive may unpack to, all its files together (413 above it: a zip bomb stops here).</summary>
    public long MaxAdapterUnpackedBytes { get; set; } = 256L << 20;

    /// <summary>Vocabulary tokens shown per virtual token of a soft prompt (its nearest by cosine); 0 shows none.</summary>
    public int NearestTokens { get; set; } = 5;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelDir)) throw new ArgumentException("SoftPrompt:ModelDir (--model): a model directory is required (the shipped default model is not built yet).");
        if (string.IsNullOrWhiteSpace(DataDir)) throw new ArgumentException("SoftPrompt:DataDir (--data-dir) is empty.");
        if (!string.IsNullOrWhiteSpace(Database)) Store.PostgresConnection.Parse(Database);   // a bad --db fails here, naming it
        if (MaxBodyBytes < 1024) throw new ArgumentException($"SoftPrompt:MaxBodyBytes must be ≥ 1024, got {MaxBodyBytes}.");
        foreach (var (name, v) in new[] { ("MaxExamples", MaxExamples), ("MaxExampleChars", MaxExampleChars), ("MaxNameLength", MaxNameLength), ("MaxTokens", MaxTokens), ("MaxPromptChars", MaxPromptChars), ("MaxBatchRows", MaxBatchRows), ("MaxQueuedRequests", MaxQueuedRequests), ("RequestTimeoutSeconds", RequestTimeoutSeconds), ("MaxTrainingSteps", MaxTrainingSteps), ("JobHeartbeatTimeoutSeconds", JobHeartbeatTimeoutSeconds), ("JobPollSeconds", JobPollSeconds) })
            if (v < 1) throw new ArgumentException($"SoftPrompt:{name} must be ≥ 1, got {v}.");
        if (PromptCacheBytes < 0) throw new ArgumentException($"SoftPrompt:PromptCacheBytes must be ≥ 0, got {PromptCacheBytes}.");
        if (MaxAdapterBytes < 1024) throw new ArgumentException($"SoftPrompt:MaxAdapterBytes must be ≥ 1024, got {MaxAdapterBytes}.");
        if (MaxAdapterUnpackedBytes < 1024) throw new ArgumentException($"SoftPrompt:MaxAdapterUnpackedBytes must be ≥ 1024, got {MaxAdapterUnpackedBytes}.");
        if (!(StoreCacheSeconds >= 0 && StoreCacheSeconds <= 3600)) throw new ArgumentException($"SoftPrompt:StoreCacheSeconds must be between 0 and 3600, got {StoreCacheSeconds}.");
        if (NearestTokens < 0) throw new ArgumentException($"SoftPrompt:NearestTokens must be ≥ 0, got {NearestTokens}.");
    }
}
