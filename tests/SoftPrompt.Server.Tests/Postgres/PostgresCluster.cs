using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace SoftPrompt.Server.Tests.Postgres;

/// <summary>
/// A throwaway PostgreSQL cluster for the tests: initdb into a temporary directory, started with pg_ctl on 127.0.0.1 and
/// a free port (and a unix socket in the same directory), trust authentication, no fsync; stopped and removed when the
/// tests end. Each test asks for a fresh database. PostgreSQL refuses to run as root, so as root the binaries run as the
/// 'postgres' user (runuser), which Debian's package creates. Missing binaries fail the tests with what to install:
/// .ci/run installs them, so CI always runs these.
/// </summary>
public sealed class PostgresCluster : IDisposable
{
    public const string User = "softprompt";
    readonly string _pgCtl, _dir, _data;
    readonly bool _asPostgresUser;
    int _stopped;

    public int Port { get; }

    public PostgresCluster()
    {
        string initdb = FindBinary("initdb"), pgCtl = FindBinary("pg_ctl");
        _pgCtl = pgCtl;
        _asPostgresUser = Environment.IsPrivilegedProcess;
        if (_asPostgresUser && !File.ReadLines("/etc/passwd").Any(l => l.StartsWith("postgres:", StringComparison.Ordinal)))
            throw new InvalidOperationException("the tests run as root and PostgreSQL refuses root, but there is no 'postgres' user to run it as: install Debian's postgresql (apt-get install -y postgresql), which creates it, or run the tests as another user.");
        string tmp = Path.GetTempPath();
        _dir = _asPostgresUser
            ? Run("mktemp", ["-d", Path.Combine(tmp, "softprompt-pg-XXXXXX")]).Trim()   // owned by postgres, as initdb needs
            : Directory.CreateTempSubdirectory("softprompt-pg-").FullName;
        _data = Path.Combine(_dir, "data");
        Port = FreePort();
        Run(initdb, ["-D", _data, "-U", User, "--auth=trust", "-E", "UTF8", "--no-sync"]);
        Run(pgCtl, ["-D", _data, "-l", Path.Combine(_dir, "log"), "-w", "-t", "60", "start",
            "-o", $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"]);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();   // a test host stopped early still stops the cluster
    }

    /// <summary>A new, empty database: its Npgsql connection string (over TCP), and the same as a postgres:// URL.</summary>
    public (string ConnectionString, string Url) CreateDatabase()
    {
        string name = "t_" + Guid.NewGuid().ToString("N")[..16];
        using (var c = new NpgsqlConnection(ConnectionString("postgres")))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return (ConnectionString(name), $"postgres://{User}@127.0.0.1:{Port}/{name}");
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = User, Database = database, Timeout = 30 }.ToString();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        try { Run(_pgCtl, ["-D", _data, "-m", "immediate", "-w", "stop"]); }
        catch (InvalidOperationException) { }   // not running (the start failed): nothing to stop
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>PATH first, then Debian's /usr/lib/postgresql/VERSION/bin, newest version first.</summary>
    static string FindBinary(string name)
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Select(d => Path.Combine(d, name)).ToList();
        if (Directory.Exists("/usr/lib/postgresql"))
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out int v) ? v : 0)
                .Select(d => Path.Combine(d, "bin", name)));
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"PostgreSQL's {name} was not found (PATH, /usr/lib/postgresql/*/bin): the PostgreSQL store tests need a throwaway cluster; install Debian's postgresql (apt-get install -y postgresql; .ci/run does it when missing).");
    }

    static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Runs a command (as postgres when we are root) and returns its output; a failure throws with that output.</summary>
    string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(_asPostgresUser ? "runuser" : file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (_asPostgresUser) foreach (var a in new[] { "-u", "postgres", "--", file }) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) { p.Kill(entireProcessTree: true); throw new InvalidOperationException($"{file} {string.Join(' ', args)}: no exit after 120 s."); }
        if (p.ExitCode != 0)
        {
            string log = _dir is not null && File.Exists(Path.Combine(_dir, "log")) ? "\nserver log:\n" + File.ReadAllText(Path.Combine(_dir, "log")) : "";
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit code {p.ExitCode}\n{stdout}{stderr.Result}{log}");
        }
        return stdout;
    }
}

/// <summary>The PostgreSQL tests share one cluster (a database each) and run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresCluster>
{
    public const string Name = "postgres";
}
