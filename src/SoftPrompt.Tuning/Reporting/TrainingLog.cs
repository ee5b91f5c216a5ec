using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.Data;

namespace SoftPrompt.Tuning.Reporting;

/// <summary>
/// The training log: one JSON object a line (JSON Lines), e.g.
/// <c>{"step":100,"epoch":0.5,"loss":0.731,"lr":0.0003,"tokens_per_s":2210.4,"eval_accuracy":0.82}</c>.
/// Each record is written whole and flushed (to the disk, by default) before Write returns, so a crash
/// or a kill loses nothing already logged. Non-finite values — a diverging loss is worth seeing — are
/// written as the strings "NaN", "Infinity", "-Infinity", since JSON has no such numbers.
/// </summary>
public sealed class TrainingLog : IDisposable
{
    readonly FileStream _stream;
    readonly bool _durable;
    readonly ArrayBufferWriter<byte> _buffer = new();

    public string Path { get; }

    /// <summary>append: continue an existing log (a resumed run); otherwise the file starts empty. durable: fsync each line.</summary>
    public TrainingLog(string path, bool append = false, bool durable = true)
    {
        Path = path;
        _durable = durable;
        string? dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        _stream = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
    }

    public void Write(TrainingRecord record)
    {
        _buffer.Clear();
        using (var w = new Utf8JsonWriter(_buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("step", record.Step);
            Number(w, "epoch", record.Epoch);
            Number(w, "loss", record.Loss);
            Number(w, "lr", record.LearningRate);
            Number(w, "tokens_per_s", record.TokensPerSecond);
            Number(w, "elapsed_s", record.ElapsedSeconds);
            foreach (var (name, value) in record.Metrics)
            {
                if (TrainingRecord.FixedNames.Contains(name))
                    throw new ArgumentException($"TrainingLog: metric '{name}' would shadow the fixed field of that name; rename it (e.g. 'eval_{name}').");
                Number(w, name, value);
            }
            w.WriteEndObject();
        }
        _stream.Write(_buffer.WrittenSpan);
        _stream.WriteByte((byte)'\n');
        _stream.Flush(_durable);
    }

    static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is not double v) return;
        if (double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteString(name, double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    /// <summary>
    /// Keeps only the records up to <paramref name="step"/> (and drops a half-written last line): a run resumed from the
    /// checkpoint of that step logs the steps after it again, and would otherwise list them twice. No file, no change.
    /// </summary>
    public static void TruncateAfter(string path, long step)
    {
        if (!File.Exists(path)) return;
        var keep = File.ReadAllLines(path).Where(line =>
        {
            try { return JsonNode.Parse(line)?["step"]?.GetValue<long>() is long s && s <= step; }
            catch (JsonException) { return false; }   // a half-written last line
        }).ToArray();
        AtomicFile.WriteAllText(path, keep.Length == 0 ? "" : string.Join('\n', keep) + "\n");
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// Reads a log back. A last line without its newline that does not parse is the remains of a write
    /// cut off by a crash and is skipped; any other bad line is an error naming file:line.
    /// </summary>
    public static IReadOnlyList<TrainingRecord> Read(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: file not found.");
        string text;
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var r = new StreamReader(s, Encoding.UTF8))
            text = r.ReadToEnd();
        var lines = text.Split('\n');
        var records = new List<TrainingRecord>();
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0) continue;
            bool unterminated = i == lines.Length - 1;
            try { records.Add(Parse(line)); }
            catch (JsonException) when (unterminated) { }
            catch (JsonException e) { throw DataFormatException.At(path, i + 1, $"not a training log record ({e.Message})."); }
        }
        return records;
    }

    static TrainingRecord Parse(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new JsonException("not a JSON object");
        if (!root.TryGetProperty("step", out var step) || step.ValueKind != JsonValueKind.Number || !step.TryGetInt64(out long stepValue))
            throw new JsonException("no integer 'step'");
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        var fixedValues = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name == "step") continue;
            double v = p.Value.ValueKind switch
            {
                JsonValueKind.Number => p.Value.GetDouble(),
                JsonValueKind.String => p.Value.GetString() switch
                {
                    "NaN" => double.NaN,
                    "Infinity" => double.PositiveInfinity,
                    "-Infinity" => double.NegativeInfinity,
                    var s => throw new JsonException($"field '{p.Name}' is the string \"{s}\", not a number"),
                },
                _ => throw new JsonException($"field '{p.Name}' is not a number"),
            };
            (TrainingRecord.FixedNames.Contains(p.Name) ? fixedValues : metrics)[p.Name] = v;
        }
        double? F(string n) => fixedValues.TryGetValue(n, out var v) ? v : null;
        return new TrainingRecord
        {
            Step = stepValue,
            Epoch = F("epoch"), Loss = F("loss"), LearningRate = F("lr"), TokensPerSecond = F("tokens_per_s"), ElapsedSeconds = F("elapsed_s"),
            Metrics = metrics,
        };
    }
}
