using System.CommandLine;
using SoftPrompt.Server;
using Spectre.Console;

namespace SoftPrompt.Cli;

/// <summary>
/// <c>softprompt serve [--model DIR --pgm DIR] [--data-dir DIR] [--db URL] [--urls URL]</c>: the language model as a service
/// (src/SoftPrompt.Server), by default on the symbol world's target and PGM shipped in models/metal. Prints the URL and, on a new data directory, the first admin key (shown once: the store
/// keeps only its hash). Runs until Ctrl+C. <c>serve keys …</c> manages tenants and keys (<see cref="ServeKeysCommand"/>).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = $"The frozen model: a Hugging Face checkpoint directory (default: models/metal/{MetalQuickstart.TargetFolder}, with its PGM)." };
        var pgm = new Option<string?>("--pgm") { Description = $"A meta-trained PGM for the model (softprompt metal train's --out), for tasks of method \"metal\" (default with the default model: models/metal/{MetalQuickstart.PgmFolder})." };
        var dataDir = new Option<string>("--data-dir") { Description = "The store (softprompt.db, SQLite) and the tasks' adapters (with --db: this replica's cache of them).", DefaultValueFactory = _ => "softprompt-data" };
        var db = new Option<string?>("--db") { Description = "PostgreSQL, for several replicas on one database: postgres://user:password@host:port/database or an Npgsql connection string (default: SQLite in --data-dir)." };
        var urls = new Option<string>("--urls") { Description = "Where to listen (ASP.NET Core's --urls; ';' between several).", DefaultValueFactory = _ => "http://127.0.0.1:5173" };
        var dtype = DtypeOption.Create();
        var cmd = new Command("serve", "Serve the model over HTTP: tasks made from a few examples by the PGM, stored, and completed with (OpenAI-style API).")
            { model, pgm, dataDir, db, urls, dtype };
        cmd.Subcommands.Add(ServeKeysCommand.Create());
        cmd.SetAction(parse => CliErrors.Run(() =>
        {
            string? m = parse.GetValue(model), p = parse.GetValue(pgm);
            if (m is null && p is not null) throw new ArgumentException("--pgm needs its --model.");
            if (m is not null && p is null) throw new ArgumentException($"--model {m}: pass the PGM meta-trained for it (--pgm).");
            m ??= MetalQuickstart.FindShipped(MetalQuickstart.TargetFolder) ?? throw new ArgumentException("No models/metal found from the working directory or the binaries; pass --model and --pgm.");
            p ??= MetalQuickstart.FindShipped(MetalQuickstart.PgmFolder) ?? throw new ArgumentException($"No models/metal/{MetalQuickstart.PgmFolder} found; pass --model and --pgm.");
            return Serve(m, p, parse.GetValue(dataDir)!, parse.GetValue(db), parse.GetValue(urls)!, DtypeOption.Parse(parse.GetValue(dtype)!)).GetAwaiter().GetResult();
        }));
        return cmd;
    }

    static async Task<int> Serve(string model, string pgm, string dataDir, string? db, string urls, SoftPrompt.Models.Safetensors.WeightStorage storage)
    {
        if (!Directory.Exists(model)) throw new ArgumentException($"--model {model}: no such directory.");
        if (!Directory.Exists(pgm)) throw new ArgumentException($"--pgm {pgm}: no such directory.");
        await using var server = SoftPromptServer.Create(["--urls", urls], o =>
        {
            o.ModelDir = model; o.PgmDir = pgm; o.DataDir = dataDir; o.WeightStorage = storage;
            if (db is not null) o.Database = db;   // otherwise SoftPrompt__Database, when set, stands
        });
        await server.StartAsync();
        AnsiConsole.MarkupLine($"[bold]softprompt serve[/]: {Markup.Escape(string.Join(", ", server.Urls))} (store: {Markup.Escape(server.Store.Description)}; data in {Markup.Escape(server.Store.DataDir)}); loading the model…");
        if (server.FirstAdminKey is { } key)
            AnsiConsole.MarkupLine($"first admin key (shown once; only its hash is stored): [bold]{key}[/]");
        await server.Host.WhenLoaded;
        AnsiConsole.MarkupLine($"ready: base model [bold]{Markup.Escape(server.Host.ModelName)}[/]; the web page is {Markup.Escape(server.Urls[0].TrimEnd('/'))}/, " +
            $"the API {Markup.Escape(server.Urls[0].TrimEnd('/'))}/v1 (OpenAPI: /openapi/v1.json, metrics: /metrics); Ctrl+C stops.");
        await server.WaitForShutdownAsync();
        return 0;
    }
}
