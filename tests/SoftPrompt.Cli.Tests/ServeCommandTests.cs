namespace SoftPrompt.Cli.Tests;

/// <summary>serve's argument errors; the server itself is tested on a real Kestrel in SoftPrompt.Server.Tests.</summary>
public sealed class ServeCommandTests
{
    [Fact]
    public void Serve_without_a_model_or_with_a_missing_directory_is_a_one_line_error()
    {
        var (code, _, err) = CliRunner.Run("serve", "--pgm", "x");
        Assert.NotEqual(0, code);
        Assert.Contains("--model", err);
        (code, _, err) = CliRunner.Run("serve", "--model", "/no/such/model", "--pgm", "/no/such/pgm", "--data-dir", Path.Combine(Path.GetTempPath(), "sp-serve-unused"));
        Assert.Equal(1, code);
        Assert.Equal("error: --model /no/such/model: no such directory.", err.Trim());
    }

    [Fact]
    public void Serve_is_listed_with_its_options()
    {
        var (code, output, _) = CliRunner.Run("serve", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--pgm", "--data-dir", "--urls" }) Assert.Contains(option, output);
    }
}
