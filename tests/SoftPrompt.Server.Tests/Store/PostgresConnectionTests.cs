using SoftPrompt.Server.Store;

namespace SoftPrompt.Server.Tests.Store;

/// <summary>--db's two forms, and its errors: each names --db and never shows the password.</summary>
public sealed class PostgresConnectionTests
{
    [Fact]
    public void A_postgres_url_becomes_host_port_user_password_and_database()
    {
        var b = PostgresConnection.Parse("postgres://app%40prod:p%3Ass@db.internal:6543/soft%20prompt?sslmode=require&Timeout=5");
        Assert.Equal(("db.internal", 6543, "app@prod", "p:ss", "soft prompt", 5), (b.Host, b.Port, b.Username, b.Password, b.Database, b.Timeout));
        Assert.Equal(Npgsql.SslMode.Require, b.SslMode);
        Assert.Equal("PostgreSQL db.internal:6543/soft prompt as app@prod", PostgresConnection.Describe(b));

        var d = PostgresConnection.Parse("postgresql://localhost/softprompt");
        Assert.Equal(("localhost", 5432, "softprompt"), (d.Host, d.Port, d.Database));
    }

    [Fact]
    public void An_npgsql_connection_string_is_taken_as_it_is()
    {
        var b = PostgresConnection.Parse("Host=/run/postgresql;Port=5433;Database=sp;Username=u");
        Assert.Equal(("/run/postgresql", 5433, "sp", "u"), (b.Host, b.Port, b.Database, b.Username));
    }

    [Theory]
    [InlineData("mysql://u:hunter2@h/db", "expected postgres://")]
    [InlineData("just-a-name", "expected postgres://")]
    [InlineData("postgres://u:hunter2@h", "no database name")]
    [InlineData("postgres://u:hunter2@h/a/b", "just the database name")]
    [InlineData("postgres://u:hunter2@h/db?nonsense=1", "nonsense")]
    [InlineData("postgres://u:hunter2@h/db?flag", "not key=value")]
    [InlineData("Host=h;Password=hunter2;Bogus=1", "bogus")]
    [InlineData("Password=hunter2;Database=db", "no host")]
    public void A_bad_value_is_an_error_naming_db_and_hiding_the_password(string value, string why)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => PostgresConnection.Parse(value));
        Assert.StartsWith("--db '", e.Message);
        Assert.Contains(why, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("hunter2", e.Message);
    }

    [Fact]
    public void The_server_refuses_a_bad_db_before_starting()
    {
        var options = new ServerOptions { ModelDir = "m", Database = "postgres://u:hunter2@h" };
        var e = Assert.ThrowsAny<ArgumentException>(options.Validate);
        Assert.Contains("--db", e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
    }
}
