using Microsoft.Playwright;

namespace SoftPrompt.Server.Tests.Browser;

/// <summary>
/// Debian's Chromium, driven headless through Microsoft.Playwright (its bundled driver; no browser download: the system's
/// binary is launched by path). The tests that need it fail, not skip, when it is missing: the message says how to get it.
/// </summary>
internal static class HeadlessChromium
{
    /// <summary>SOFTPROMPT_CHROMIUM if set, else Debian's paths, else chromium on PATH.</summary>
    public static string Find()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("SOFTPROMPT_CHROMIUM") is { Length: > 0 } configured) candidates.Add(configured);
        candidates.AddRange(["/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser"]);
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            candidates.Add(Path.Combine(dir, "chromium"));
        return candidates.FirstOrDefault(File.Exists) ?? throw new InvalidOperationException(
            "Chromium was not found (looked at $SOFTPROMPT_CHROMIUM, /usr/bin/chromium, /usr/lib/chromium/chromium, /usr/bin/chromium-browser and PATH). "
            + "The web page tests drive a real headless Chromium: install Debian's (apt-get install -y chromium; .ci/run does this) "
            + "or point SOFTPROMPT_CHROMIUM at a Chromium binary.");
    }

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> Launch()
    {
        string path = Find();
        var playwright = await Playwright.CreateAsync();
        try
        {
            // Playwright passes --no-sandbox itself (its chromiumSandbox defaults to off), which Chromium needs as root.
            var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = path, Headless = true, Args = ["--disable-dev-shm-usage", "--disable-gpu"], Timeout = 60_000 });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
