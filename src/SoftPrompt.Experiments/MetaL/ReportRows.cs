using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SoftPrompt.Experiments.MetaL;

/// <summary>
/// The report's rows as they are measured, one JSON line each in DIR/report-rows.jsonl, under a key made of the scale,
/// the target and the world: a rerun of a stopped report takes the rows already measured for that seed instead of measuring them
/// again — a full-scale report takes longer than a session — and a PGM whose row is there is not meta-trained again.
/// A partial last line (the process killed mid-write) and rows of another scale, target or world are ignored.
/// </summary>
internal sealed class ReportRows
{
    public const string FileName = "report-rows.jsonl";

    readonly string _path, _key;
    readonly Dictionary<(ulong Seed, string Method), MetalWorldRow> _done = [];

    sealed record Line(string Key, ulong Seed, MetalWorldRow Row);

    public ReportRows(string outDir, MetalWorldScale scale, string modelDir, string world)
    {
        _path = Path.Combine(outDir, FileName);
        string identity = JsonSerializer.Serialize(scale) + "|" + Path.GetFullPath(modelDir) + "|" + world;
        _key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
        if (!File.Exists(_path)) return;
        foreach (string text in File.ReadLines(_path))
        {
            Line? line;
            try { line = JsonSerializer.Deserialize<Line>(text); }
            catch (JsonException) { continue; }
            if (line is not null && line.Key == _key && line.Row is not null) _done[(line.Seed, line.Row.Method)] = line.Row;
        }
    }

    public int Count => _done.Count;

    public bool TryGet(ulong seed, string method, out MetalWorldRow row) => _done.TryGetValue((seed, method), out row!);

    /// <summary>Appends the row (flushed to disk before returning: what is written survives a kill).</summary>
    public void Add(ulong seed, MetalWorldRow row)
    {
        _done[(seed, row.Method)] = row;
        using var file = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read);
        // a line cut short by a kill would glue onto the next one: start on a fresh line if the file does not end with one
        if (file.Length > 0)
        {
            using var read = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            read.Seek(-1, SeekOrigin.End);
            if (read.ReadByte() != '\n') file.WriteByte((byte)'\n');
        }
        file.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Line(_key, seed, row)) + "\n"));
        file.Flush(flushToDisk: true);
    }
}
