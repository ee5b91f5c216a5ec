using SoftPrompt.MetaL;
using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Tokenizers;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Server.Hosting;

/// <summary>The frozen model and what serves with it: its tokenizer, generation defaults, and the PGM (when configured).</summary>
public sealed record LoadedModel(ICausalLanguageModel Model, Tokenizer Tokenizer, TokenizerEncoder Encoder, GenerationDefaults Defaults,
    PromptGenerator? Pgm, EpisodeFormat Format, int PgmTextDemonstrations, string PgmDesign)
{
    public int? EosId => Defaults.EosTokenIds.Count > 0 ? Defaults.EosTokenIds[0] : null;
}

/// <summary>
/// Owns the model for the process: loads it (and the PGM) once in the background — /readyz turns 200 when done — and lets
/// one request at a time through it (<see cref="UseAsync"/>): this slice has no scheduler; continuous batching is the next.
/// Loaded adapters are cached by task id, least recently used leaving first.
/// </summary>
public sealed class ModelHost
{
    readonly ServerOptions _options;
    readonly SemaphoreSlim _gate = new(1, 1);
    readonly Dictionary<string, LinkedListNode<(string Id, LoadedAdapter Adapter)>> _adapters = [];
    readonly LinkedList<(string Id, LoadedAdapter Adapter)> _lru = new();
    Task<LoadedModel>? _loading;

    public ModelHost(ServerOptions options) => _options = options;

    /// <summary>The base model's name in /v1/models and completions.</summary>
    public string ModelName => _options.ModelName is { Length: > 0 } n ? n : Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(_options.ModelDir!)));

    public void StartLoading() => _loading ??= Task.Run(Load);

    public bool IsReady => _loading is { IsCompletedSuccessfully: true };

    /// <summary>Why the model is not there: still loading, or the load's error.</summary>
    public string NotReadyReason => _loading switch
    {
        null => "the model is not loading.",
        { IsFaulted: true } t => $"the model failed to load: {t.Exception!.InnerException?.Message}",
        _ => "the model is still loading; retry shortly.",
    };

    /// <summary>Waits for the load (tests, the CLI); rethrows its error.</summary>
    public Task<LoadedModel> WhenLoaded => _loading ?? throw new InvalidOperationException("StartLoading was not called.");

    /// <summary>The loaded model, or 503 problem details while it loads.</summary>
    public LoadedModel Ready => IsReady ? _loading!.Result
        : throw new ApiException(Microsoft.AspNetCore.Http.StatusCodes.Status503ServiceUnavailable, NotReadyReason);

    LoadedModel Load()
    {
        string dir = _options.ModelDir!;
        var model = ModelLoader.Load(dir);
        var tokenizer = Tokenizer.FromDirectory(dir);
        PromptGenerator? pgm = null;
        var format = new EpisodeFormat();
        int textDemos = 0;
        string design = "";
        if (_options.PgmDir is { Length: > 0 } pgmDir)
        {
            (pgm, format, _, textDemos) = PgmDirectory.Load(pgmDir, model);
            design = PromptDesigns.Name(pgm.Config.Design);
        }
        return new LoadedModel(model, tokenizer, new TokenizerEncoder(tokenizer), GenerationDefaults.Load(dir), pgm, format, textDemos, design);
    }

    /// <summary>Runs work with the model held: one at a time (the model, its pools and the tape are not shared between requests yet).</summary>
    public async Task<T> UseAsync<T>(Func<LoadedModel, T> work, CancellationToken ct)
    {
        var m = Ready;
        await _gate.WaitAsync(ct);
        try { return await Task.Run(() => work(m), ct); }
        finally { _gate.Release(); }
    }

    /// <summary>Holds the model for a whole stream; dispose the result to let the next request in.</summary>
    public async Task<IDisposable> HoldAsync(CancellationToken ct)
    {
        _ = Ready;
        await _gate.WaitAsync(ct);
        return new Release(_gate);
    }

    sealed class Release(SemaphoreSlim gate) : IDisposable
    {
        int _done;
        public void Dispose() { if (Interlocked.Exchange(ref _done, 1) == 0) gate.Release(); }
    }

    /// <summary>The task's adapter from the cache, or loaded from its folder (call with the model held).</summary>
    public LoadedAdapter Adapter(string taskId, string directory, LoadedModel m)
    {
        lock (_lru)
            if (_adapters.TryGetValue(taskId, out var node)) { _lru.Remove(node); _lru.AddFirst(node); return node.Value.Adapter; }
        var adapter = AdapterDirectory.Load(directory, m.Model);
        lock (_lru)
        {
            if (_adapters.TryGetValue(taskId, out var raced)) return raced.Value.Adapter;
            _adapters[taskId] = _lru.AddFirst((taskId, adapter));
            while (_lru.Count > _options.AdapterCacheSize) { _adapters.Remove(_lru.Last!.Value.Id); _lru.RemoveLast(); }
        }
        return adapter;
    }

    public void Forget(string taskId)
    {
        lock (_lru)
            if (_adapters.Remove(taskId, out var node)) _lru.Remove(node);
    }
}
