using Npgsql;

namespace SoftPrompt.Server.Store;

/// <summary>
/// Reads the --db option: a URL <c>postgres://user:password@host:port/database?sslmode=require</c> (or postgresql://;
/// user, password and database percent-decoded; query parameters are Npgsql connection-string keywords, e.g.
/// <c>host=/run/postgresql</c> for a unix socket), or an Npgsql connection string (<c>Host=…;Database=…</c>). Every error
/// names --db and shows the value with its password hidden.
/// </summary>
public static class PostgresConnection
{
    public static NpgsqlConnectionStringBuilder Parse(string database)
    {
        if (string.IsNullOrWhiteSpace(database)) throw Bad(database, "empty");
        var b = database.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || database.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            ? FromUrl(database)
            : database.Contains('=') ? FromConnectionString(database)
            : throw Bad(database, "expected postgres://user:password@host:port/database or an Npgsql connection string (Host=…;Database=…)");
        if (string.IsNullOrEmpty(b.Host)) throw Bad(database, "no host");
        if (string.IsNullOrEmpty(b.Database)) throw Bad(database, "no database name");
        return b;
    }

    /// <summary>host:port/database as user: for logs and errors, never with the password.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder b) => $"PostgreSQL {b.Host}:{b.Port}/{b.Database}" + (b.Username is { Length: > 0 } u ? $" as {u}" : "");

    static NpgsqlConnectionStringBuilder FromUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw Bad(url, "not a valid URL");
        var b = new NpgsqlConnectionStringBuilder();
        try
        {
            if (uri.Host.Length > 0) b.Host = uri.Host;
            if (uri.Port > 0) b.Port = uri.Port;
            if (uri.UserInfo.Length > 0)
            {
                int colon = uri.UserInfo.IndexOf(':');
                b.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
                if (colon >= 0) b.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
            string path = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
            if (path.Contains('/')) throw Bad(url, $"the path must be just the database name, got '{path}'");
            if (path.Length > 0) b.Database = path;
            foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=');
                if (eq <= 0) throw Bad(url, $"query parameter '{pair}' is not key=value");
                string key = Uri.UnescapeDataString(pair[..eq]), value = Uri.UnescapeDataString(pair[(eq + 1)..]);
                b[key.Equals("sslmode", StringComparison.OrdinalIgnoreCase) ? "SSL Mode" : key] = value;
            }
        }
        catch (Exception e) when (e is ArgumentException and not DbOptionException || e is FormatException)
        {
            throw Bad(url, e.Message);
        }
        return b;
    }

    static NpgsqlConnectionStringBuilder FromConnectionString(string s)
    {
        try { return new NpgsqlConnectionStringBuilder(s); }
        catch (Exception e) when (e is ArgumentException or FormatException) { throw Bad(s, e.Message); }
    }

    static DbOptionException Bad(string value, string why) => new($"--db '{Redact(value)}': {why}.");

    /// <summary>The value with a URL's password or a connection string's Password=… replaced by ***.</summary>
    public static string Redact(string value)
    {
        if (value.Contains("://", StringComparison.Ordinal))
            return System.Text.RegularExpressions.Regex.Replace(value, "^([a-zA-Z]+://[^:/@]*:)[^@]*@", "$1***@");
        return System.Text.RegularExpressions.Regex.Replace(value, "(?i)(password|pwd)\\s*=[^;]*", "$1=***");
    }

    /// <summary>A malformed --db value (an <see cref="ArgumentException"/>, so the CLI reports it as one line).</summary>
    sealed class DbOptionException(string message) : ArgumentException(message);
}
