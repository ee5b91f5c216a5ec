using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SoftPrompt.Server.Endpoints;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Server.Jobs;
using SoftPrompt.Server.Store;

namespace SoftPrompt.Server;

/// <summary>
/// The service in one process: Kestrel, the endpoints, the store (SQLite, or PostgreSQL shared by replicas) and the model. <see cref="Create"/> reads
/// ASP.NET Core's usual configuration from args (e.g. --urls) and the "SoftPrompt" section into <see cref="ServerOptions"/>;
/// <see cref="StartAsync"/> opens the port and starts loading the model (/readyz turns 200 when it is loaded).
/// </summary>
public sealed class SoftPromptServer : IAsyncDisposable
{
    readonly WebApplication _app;

    public ServerOptions Options { get; }
    public IStore Store { get; }
    public ModelHost Host { get; }
    internal Scheduler Scheduler { get; }
    internal JobRunner Jobs { get; }

    /// <summary>The admin key made on this start because the store had none (shown once), or null.</summary>
    public string? FirstAdminKey { get; }

    SoftPromptServer(WebApplication app, ServerOptions options, IStore store, ModelHost host, Scheduler scheduler, JobRunner jobs, string? adminKey)
        => (_app, Options, Store, Host, Scheduler, Jobs, FirstAdminKey) = (app, options, store, host, scheduler, jobs, adminKey);

    public static SoftPromptServer Create(string[]? args = null, Action<ServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args ?? [], ContentRootPath = Directory.GetCurrentDirectory() });
        var options = new ServerOptions();
        builder.Configuration.GetSection(ServerOptions.Section).Bind(options);
        configure?.Invoke(options);
        options.Validate();
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls("http://127.0.0.1:5173");
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
        });
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        var store = StoreFactory.Open(options.Database, options.DataDir, cacheReads: TimeSpan.FromSeconds(options.StoreCacheSeconds));
        string? adminKey;
        try { adminKey = store.EnsureAdmin(); }
        catch { store.Dispose(); throw; }
        var host = new ModelHost(options);
        var metrics = new ServerMetrics();
        var prompts = new PromptCache(options.PromptCacheBytes);
        builder.Services.AddSingleton(options).AddSingleton(store).AddSingleton(host).AddSingleton(metrics).AddSingleton(prompts).AddSingleton<Scheduler>().AddSingleton<JobRunner>().AddSingleton<UsageRecorder>();
        builder.Services.AddProblemDetails();
        builder.Services.AddApiDescription();
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.PropertyNamingPolicy = null);

        var app = builder.Build();
        var scheduler = app.Services.GetRequiredService<Scheduler>();
        var jobs = app.Services.GetRequiredService<JobRunner>();
        metrics.Observe(scheduler, prompts);
        app.UseMiddleware<RequestMetrics>();
        app.UseMiddleware<ErrorMiddleware>();
        app.UseStatusCodePages();
        app.UseMiddleware<ApiKeyAuth>();
        HealthEndpoints.Map(app);
        ModelsEndpoints.Map(app);
        TasksEndpoints.Map(app);
        CompletionsEndpoints.Map(app);
        JobsEndpoints.Map(app);
        UsageEndpoints.Map(app);
        MetricsEndpoint.Map(app);
        AdminEndpoints.Map(app);
        AdaptersEndpoints.Map(app);
        ApiDescription.Map(app);
        WebPage.Map(app);
        return new SoftPromptServer(app, options, store, host, scheduler, jobs, adminKey);
    }

    public async Task StartAsync(CancellationToken ct = default)
    {
        Host.StartLoading();
        Scheduler.Start();
        Jobs.Start();
        await _app.StartAsync(ct);
    }

    /// <summary>The addresses Kestrel listens on (after start; a port 0 is resolved to the one bound).</summary>
    public IReadOnlyList<string> Urls =>
        [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []];

    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try { await _app.StopAsync(); } catch (OperationCanceledException) { }
        await Jobs.DisposeAsync();
        await Scheduler.DisposeAsync();
        await _app.DisposeAsync();
        Store.Dispose();   // a singleton given as an instance is the giver's to dispose
    }
}
