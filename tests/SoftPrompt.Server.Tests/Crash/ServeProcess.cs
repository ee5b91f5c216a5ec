using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace SoftPrompt.Server.Tests.Crash;

/// <summary>
/// <c>softprompt serve</c> as an operating-system process of its own (the CLI's built softprompt.dll, which this project
/// builds through its reference to SoftPrompt.Cli), so that a test can kill it with SIGKILL — what no in-process server
/// can undergo. It listens on 127.0.0.1 and a port the kernel picks (--urls …:0); the URL and, on a new data directory,
/// the first admin key are read from what serve prints. Start returns once serve says it is ready (model loaded).
/// </summary>
internal sealed partial class ServeProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly StringBuilder _output = new();
    readonly TaskCompletionSource<string> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ApiClient Api { get; private set; } = null!;

    /// <summary>The admin key serve printed because the store had none, or null (a restart on the same data directory).</summary>
    public string? FirstAdminKey { get; private set; }

    public int Id => _process.Id;

    /// <summary>The CLI beside this test project's configuration (Release or Debug), as `dotnet build` of this project leaves it.</summary>
    public static string CliDll
    {
        get
        {
            string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;   // …/bin/Release/net10.0/
            string dll = Path.Combine(TestModels.RepoRoot, "src", "SoftPrompt.Cli", "bin", configuration, "net10.0", "softprompt.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build this test project (it builds the CLI) or src/SoftPrompt.Cli in {configuration}.");
        }
    }

    ServeProcess(Process process) => _process = process;

    /// <summary>
    /// Starts serve on a data directory; settings (ServerOptions) go as environment variables, e.g.
    /// ("SoftPrompt__JobHeartbeatTimeoutSeconds", "1"), as an operator would pass them.
    /// </summary>
    public static async Task<ServeProcess> Start(string dataDir, string modelDir, string pgmDir, params (string Name, string Value)[] settings)
    {
        // dotnet test names the dotnet that runs it; a bare "dotnet" is PATH's.
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in new[] { CliDll, "serve", "--model", modelDir, "--pgm", pgmDir, "--data-dir", dataDir, "--urls", "http://127.0.0.1:0" })
            psi.ArgumentList.Add(a);
        psi.Environment["COLUMNS"] = "400";   // Spectre wraps at the console's width; a wide one keeps each printed line whole
        foreach (var (name, value) in settings) psi.Environment[name] = value;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("dotnet did not start");
        var serve = new ServeProcess(process);
        process.OutputDataReceived += (_, e) => serve.Read(e.Data);
        process.ErrorDataReceived += (_, e) => serve.Read(e.Data);
        process.Exited += (_, _) => serve._ready.TrySetException(new InvalidOperationException($"serve exited with code {process.ExitCode} before it was ready:\n{serve.Output}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            string url = await serve._ready.Task.WaitAsync(TimeSpan.FromSeconds(120));
            serve.Api = new ApiClient(new Uri(url));
            return serve;
        }
        catch (TimeoutException)
        {
            await serve.DisposeAsync();
            throw new TimeoutException($"serve was not ready within 120 s:\n{serve.Output}");
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }

    /// <summary>Everything serve printed so far (stdout and stderr), for failure messages.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    void Read(string? line)
    {
        if (line is null) return;
        string all;
        lock (_output) all = _output.AppendLine(line).ToString();
        if (KeyPattern().Match(line) is { Success: true } key) FirstAdminKey = key.Value;
        if (line.StartsWith("ready:", StringComparison.Ordinal))
        {
            var url = UrlPattern().Match(all);
            if (url.Success) _ready.TrySetResult(url.Value);
            else _ready.TrySetException(new InvalidOperationException($"serve is ready but printed no http://127.0.0.1:PORT:\n{all}"));
        }
    }

    /// <summary>SIGKILL (Process.Kill on Unix): no shutdown code runs, nothing is flushed or disposed; then waits for the exit.</summary>
    public async Task Kill()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(137, _process.ExitCode);   // 128 + SIGKILL: it died of the signal, not of something else first
    }

    public bool HasExited => _process.HasExited;

    public async ValueTask DisposeAsync()
    {
        Api?.Dispose();
        if (!_process.HasExited)
        {
            try { _process.Kill(); } catch (InvalidOperationException) { }   // exited meanwhile
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"http://127\.0\.0\.1:[0-9]+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex("sp-[0-9a-f]{64}")]
    private static partial Regex KeyPattern();
}
