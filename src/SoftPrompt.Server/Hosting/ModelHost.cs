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
/// Owns the model for the process: loads it (and the PGM) once in the background — /readyz turns 200 when done. Only the
/// <see cref="Scheduler"/>'s thread runs it; requests reach it through the scheduler.
/// </summary>
public sealed class ModelHost
{
    readonly ServerOptions _options;
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
        var model = ModelLoader.Load(dir, _options.WeightStorage);
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
}
