using System.Text;

namespace SoftPrompt.Server.Tests.Fuzz;

/// <summary>
/// One fuzzed request: the bytes sent on a connection of its own. WellFormed: HTTP that Kestrel parses (whatever the body
/// and the route make of it), which must get an answer; otherwise the server may also close without one.
/// CloseAfterSending: the body is shorter than its Content-Length, so the client ends its side after it.
/// </summary>
internal sealed record FuzzCase(int Index, string Kind, byte[] Bytes, bool WellFormed = true, bool CloseAfterSending = false)
{
    /// <summary>The case as a failure shows it: its kind and first bytes, control and non-ASCII bytes escaped.</summary>
    public override string ToString()
    {
        var s = new StringBuilder($"#{Index} {Kind} ({Bytes.Length} bytes): ");
        foreach (byte b in Bytes.Take(400))
            s.Append(b is >= 0x20 and < 0x7f ? ((char)b).ToString() : b == '\r' ? "\\r" : b == '\n' ? "\\n" : $"\\x{b:x2}");
        if (Bytes.Length > 400) s.Append('…');
        return s.ToString();
    }
}
