using System.Net.Sockets;
using System.Text;

namespace SoftPrompt.Server.Tests.Fuzz;

/// <summary>
/// One HTTP/1.1 exchange over a socket of its own, from bytes as given: no client library between the fuzzer and Kestrel
/// to validate, normalise or refuse what it sends (methods, paths, headers, lengths, bytes that are not UTF-8).
/// </summary>
internal static class RawHttp
{
    /// <summary>
    /// The answer's status and its first bytes, or a null status when the server closed without answering. The request
    /// says Connection: close, so the answer ends when the server closes; past the timeout (a server that hangs) it throws.
    /// </summary>
    public static async Task<(int? Status, string Head)> Send(Uri server, byte[] request, bool closeAfterSending, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Host, server.Port, cts.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, cts.Token);
            // A body shorter than its Content-Length: tell the server nothing more comes, instead of leaving it waiting.
            if (closeAfterSending) client.Client.Shutdown(SocketShutdown.Send);
        }
        catch (IOException) { }   // the server answered (e.g. 431, 413) and closed before taking everything: read what it said
        var answer = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, cts.Token)) > 0) answer.Write(buffer, 0, n);   // Connection: close ends it
        }
        catch (IOException) { }   // reset after the answer: what came is what counts
        string head = Encoding.Latin1.GetString(answer.GetBuffer(), 0, (int)Math.Min(answer.Length, 600));
        return (Status(head), head);
    }

    static int? Status(string head) =>
        head.StartsWith("HTTP/1.", StringComparison.Ordinal) && head.Length >= 12 && int.TryParse(head.AsSpan(9, 3), out int s) ? s : null;
}
