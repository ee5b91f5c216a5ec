using System.Text;

namespace SoftPrompt.Tuning.Data;

/// <summary>
/// RFC 4180 CSV with a header row: fields separated by commas, records by CRLF or LF; a field in
/// double quotes may hold commas, line breaks and doubled quotes (""). Strict where the RFC is:
/// a quote inside an unquoted field, text after a closing quote, an unterminated quote, a duplicate
/// or empty header name, or a record with a different number of fields than the header are errors
/// naming file:line (the line the record or field starts on). Blank lines are skipped.
/// </summary>
public static class CsvReader
{
    public static IReadOnlyList<Example> Parse(string text, string source)
    {
        var records = ReadRecords(text, source);
        if (records.Count == 0) return [];
        var (headerLine, header) = records[0];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int c = 0; c < header.Count; c++)
        {
            if (header[c].Length == 0) throw DataFormatException.At(source, headerLine, $"header column {c + 1} has no name.");
            if (!seen.Add(header[c])) throw DataFormatException.At(source, headerLine, $"header names column '{header[c]}' twice.");
        }
        var examples = new List<Example>(records.Count - 1);
        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Count != header.Count)
                throw DataFormatException.At(source, line, $"the record has {fields.Count} fields; the header has {header.Count} ({string.Join(",", header)}).");
            var dict = new Dictionary<string, string>(header.Count, StringComparer.Ordinal);
            for (int c = 0; c < header.Count; c++) dict[header[c]] = fields[c];
            examples.Add(new Example(dict, source, line));
        }
        return examples;
    }

    /// <summary>All records with the 1-based line each starts on.</summary>
    internal static List<(int Line, List<string> Fields)> ReadRecords(string text, string source)
    {
        var records = new List<(int, List<string>)>();
        var field = new StringBuilder();
        var fields = new List<string>();
        int line = 1, recordLine = 1, i = 0, n = text.Length;
        bool recordHasContent = false;

        void EndRecord()
        {
            fields.Add(field.ToString()); field.Clear();
            // A blank line is one empty unquoted field: skip it rather than call it ragged.
            if (recordHasContent || fields.Count > 1 || fields[0].Length > 0) records.Add((recordLine, fields));
            fields = [];
            recordHasContent = false;
        }

        while (i < n)
        {
            char ch = text[i];
            if (field.Length == 0 && ch == '"' && AtFieldStart())
            {
                int quoteLine = line;
                i++;
                recordHasContent = true;
                while (true)
                {
                    if (i >= n) throw DataFormatException.At(source, quoteLine, "a quoted field is not closed before the end of the file.");
                    char q = text[i];
                    if (q == '"')
                    {
                        if (i + 1 < n && text[i + 1] == '"') { field.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    if (q == '\n') line++;
                    field.Append(q);
                    i++;
                }
                // After the closing quote only a separator, a line break or the end may follow.
                if (i < n && text[i] is not (',' or '\n' or '\r'))
                    throw DataFormatException.At(source, line, $"unexpected '{text[i]}' after the closing quote of a field (column {FieldNumber()}).");
                continue;
            }
            switch (ch)
            {
                case ',':
                    fields.Add(field.ToString()); field.Clear();
                    recordHasContent = true;
                    i++;
                    break;
                case '\r' when i + 1 < n && text[i + 1] == '\n':
                    i++;
                    break;
                case '\r':
                case '\n':
                    EndRecord();
                    line++;
                    recordLine = line;
                    i++;
                    break;
                case '"':
                    throw DataFormatException.At(source, line, $"a double quote inside an unquoted field (column {FieldNumber()}); quote the whole field and double the quote.");
                default:
                    field.Append(ch);
                    i++;
                    break;
            }
        }
        if (field.Length > 0 || fields.Count > 0 || recordHasContent) EndRecord();
        return records;

        // A quote opens a quoted field only as the field's first character.
        bool AtFieldStart() => i == 0 || text[i - 1] is ',' or '\n' or '\r';
        int FieldNumber() => fields.Count + 1;
    }
}
