namespace SoftPrompt.Server.Tests;

/// <summary>Waiting for a server to reach a state: read it again every 100 ms until it holds or the time is up (a failure then shows the last reading).</summary>
internal static class Poll
{
    public static async Task<T> Until<T>(Func<Task<T>> read, Func<T, bool> done, string what, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (done(value)) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not {what} within {seconds} s; last: {(value is System.Text.Json.Nodes.JsonNode n ? n.ToJsonString() : value?.ToString())}");
            await Task.Delay(100);
        }
    }
}
