using System.Security.Cryptography;
using System.Text;

namespace SoftPrompt.Server.Store;

/// <summary>
/// The ids and keys the store makes, the same for every database: random, lowercase hex, with a kind prefix. Only ids of
/// exactly these forms are ever looked up or become a path, so nothing a request says reaches a file name.
/// </summary>
public static class StoreIds
{
    /// <summary>Hex digits of a key's hash that listings show and revoking takes (48 bits: no two keys of a store share them in practice).</summary>
    public const int KeyHashPrefixLength = 12;

    /// <summary>The shortest hash prefix <c>keys revoke</c> accepts, so a typo does not match many keys.</summary>
    public const int MinRevokePrefixLength = 8;

    /// <summary>The key's SHA-256 as lowercase hex: what the store keeps. Keys are 256 random bits, so a plain hash suffices (no salt or stretching).</summary>
    public static string HashKey(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string NewKey() => "sp-" + Random(32);

    public static string NewTenantId() => "tenant-" + Random(8);

    public static string NewTaskId() => "task-" + Random(8);

    public static string NewJobId() => "job-" + Random(8);

    /// <summary>True for ids of the form the server makes (task- and 16 hex digits): only these ever become a path.</summary>
    public static bool IsTaskId(string id) => HasForm(id, "task-");

    public static bool IsJobId(string id) => HasForm(id, "job-");

    public static bool IsTenantId(string id) => HasForm(id, "tenant-");

    /// <summary>A non-empty string of lowercase hex digits (a key hash prefix as listings show it).</summary>
    public static bool IsHex(string s) => s.Length > 0 && !s.AsSpan().ContainsAnyExcept("0123456789abcdef");

    static bool HasForm(string id, string prefix) =>
        id.Length == prefix.Length + 16 && id.StartsWith(prefix, StringComparison.Ordinal) && IsHex(id[prefix.Length..]);

    static string Random(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
}
