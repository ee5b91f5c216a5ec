using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using SoftPrompt.Server.Hosting;
using SoftPrompt.Tuning.Adapters;

namespace SoftPrompt.Server.Uploads;

/// <summary>
/// An uploaded adapter archive (.zip or .tar.gz, told apart by their first bytes, never by a file name) unpacked into
/// memory and checked before anything touches the disk. An entry's name is only ever compared with an allow-list — the
/// adapter's files, at the archive's top or in one folder at its top — and never becomes a path: the files are written
/// later under the allow-list's own names. Directories other than that one folder, "..", absolute names, links and
/// special files are refused; so are more than <see cref="MaxEntries"/> entries, and every entry's bytes are counted
/// while it is unpacked, so an archive that unpacks to more than the limit (a zip bomb) stops there (413).
/// Every error is an <see cref="ApiException"/> for the form field "file" that names the entry.
/// </summary>
internal static class AdapterArchive
{
    public const string Field = "file";

    /// <summary>Entries an archive may hold, directories included (an adapter is 2 or 3 files).</summary>
    public const int MaxEntries = 8;

    /// <summary>The most a JSON file (or README.md) of an adapter may unpack to.</summary>
    public const long MaxSmallFileBytes = 1 << 20;

    /// <summary>The files kept, under these names.</summary>
    public static readonly string[] Kept = [AdapterDirectory.ConfigFile, AdapterDirectory.WeightsFile, AdapterDirectory.ExtrasFile];

    /// <summary>Files PEFT's save_pretrained writes beside the adapter that are accepted and dropped.</summary>
    static readonly string[] Dropped = ["README.md"];

    static ApiException Bad(string detail) => ApiException.BadField(Field, detail);

    static ApiException TooLarge(string entry, long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"{Field}: entry '{Shown(entry)}' unpacks past this server's limit ({limit:N0} bytes).", Field);

    /// <summary>An entry name as an error shows it: bounded, control characters escaped.</summary>
    static string Shown(string name)
    {
        string s = string.Concat(name.Take(120).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return name.Length > 120 ? s + "…" : s;
    }

    /// <summary>The adapter's files by their allow-listed names (config and weights always present), from the archive's bytes.</summary>
    public static Dictionary<string, byte[]> Unpack(byte[] archive, long maxUnpackedBytes)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var names = new EntryNames();
        try
        {
            if (archive.Length >= 4 && archive[0] == 'P' && archive[1] == 'K') UnpackZip(archive, maxUnpackedBytes, files, names);
            else if (archive.Length >= 2 && archive[0] == 0x1f && archive[1] == 0x8b) UnpackTarGz(archive, maxUnpackedBytes, files, names);
            else throw Bad("not a .zip or .tar.gz archive (its first bytes are neither's).");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or NotSupportedException or OverflowException)
        {
            // Whatever the decompressors and readers refuse: a truncated, corrupted or unsupported archive.
            throw Bad($"the archive cannot be read: {e.Message}");
        }
        foreach (string required in new[] { AdapterDirectory.ConfigFile, AdapterDirectory.WeightsFile })
            if (!files.ContainsKey(required))
                throw Bad($"the archive has no {required} (an adapter archive holds {AdapterDirectory.ConfigFile}, {AdapterDirectory.WeightsFile} and optionally {AdapterDirectory.ExtrasFile}).");
        return files;
    }

    /// <summary>Checks entry names one by one: plain allow-listed file names, optionally all inside the same single top folder.</summary>
    sealed class EntryNames
    {
        string? _folder;
        readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        int _count;

        /// <summary>The allow-listed file name the entry stands for, or null for an entry that is skipped (the top folder itself).</summary>
        public string? Check(string name, bool isDirectory)
        {
            if (++_count > MaxEntries) throw Bad($"the archive has more than {MaxEntries} entries; an adapter is {string.Join(", ", Kept)}.");
            if (name.Length == 0 || name.Length > 255) throw Bad($"entry '{Shown(name)}': an entry name must be 1 to 255 characters.");
            if (name.StartsWith('/') || name.Contains('\\') || name.Contains(':') || name.Any(char.IsControl))
                throw Bad($"entry '{Shown(name)}': absolute names, backslashes, colons and control characters are refused.");
            string path = name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;
            if (path.EndsWith('/')) { isDirectory = true; path = path[..^1]; }
            string[] parts = path.Length == 0 ? [] : path.Split('/');
            if (parts.Any(p => p is "" or "." or ".."))
                throw Bad($"entry '{Shown(name)}': empty, '.' and '..' parts are refused.");
            if (isDirectory)
            {
                if (parts.Length > 1) throw Bad($"entry '{Shown(name)}': folders inside folders are refused (put the adapter's files at the top, or in one folder).");
                if (parts.Length == 1) Folder(parts[0], name);
                return null;
            }
            if (parts.Length > 2) throw Bad($"entry '{Shown(name)}': folders inside folders are refused (put the adapter's files at the top, or in one folder).");
            if (parts.Length == 2) Folder(parts[0], name);
            else if (_folder is not null) throw Bad($"entry '{Shown(name)}': the archive mixes files at its top with the folder '{Shown(_folder)}'.");
            string file = parts[^1];
            if (!Kept.Contains(file) && !Dropped.Contains(file))
                throw Bad($"entry '{Shown(name)}': not a file of an adapter (expected {string.Join(", ", Kept)}{(file == "adapter_model.bin" ? "; pickled weights are not read: save with safetensors" : "")}).");
            if (!_seen.Add(file)) throw Bad($"entry '{Shown(name)}': {file} appears twice.");
            return file;
        }

        void Folder(string folder, string name)
        {
            _folder ??= _seen.Count == 0 ? folder : throw Bad($"entry '{Shown(name)}': the archive mixes files at its top with the folder '{Shown(folder)}'.");
            if (_folder != folder) throw Bad($"entry '{Shown(name)}': a second folder ('{Shown(_folder)}' came first); an adapter is one folder.");
        }
    }

    /// <summary>An entry's bytes, counted as they come: past its own limit (or what is left of the archive's) it stops with 413.</summary>
    static byte[] ReadEntry(Stream data, string name, string file, long declared, ref long unpacked, long maxUnpackedBytes)
    {
        long limit = file == AdapterDirectory.WeightsFile ? maxUnpackedBytes - unpacked : Math.Min(MaxSmallFileBytes, maxUnpackedBytes - unpacked);
        long shownLimit = file == AdapterDirectory.WeightsFile ? maxUnpackedBytes : Math.Min(MaxSmallFileBytes, maxUnpackedBytes);
        if (declared > limit) throw TooLarge(name, shownLimit);
        using var buffer = new MemoryStream(declared > 0 ? (int)declared : 0);
        var chunk = new byte[81920];
        int n;
        while ((n = data.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + n > limit) throw TooLarge(name, shownLimit);
            buffer.Write(chunk, 0, n);
        }
        unpacked += buffer.Length;
        return buffer.ToArray();
    }

    static void UnpackZip(byte[] archive, long maxUnpackedBytes, Dictionary<string, byte[]> files, EntryNames names)
    {
        // The end-of-central-directory record's entry count, read before ZipArchive reads the whole directory into memory.
        int? count = ZipEntryCount(archive);
        if (count is null) throw Bad("not a readable .zip archive (no end-of-central-directory record).");
        if (count > MaxEntries) throw Bad($"the archive has {(count == 0xFFFF ? "zip64's count of" : count.ToString())} entries; at most {MaxEntries} are read.");
        using var zip = new ZipArchive(new MemoryStream(archive, writable: false), ZipArchiveMode.Read);
        long unpacked = 0;
        foreach (var entry in zip.Entries)
        {
            // Unix mode bits in the high half of the external attributes: a link (or anything not a plain file or folder) is refused.
            int type = (entry.ExternalAttributes >> 16) & 0xF000;
            if (type is not 0 and not 0x8000 and not 0x4000) throw Bad($"entry '{Shown(entry.FullName)}': links and special files are refused.");
            string? file = names.Check(entry.FullName, type == 0x4000);
            if (file is null) continue;
            if (entry.IsEncrypted) throw Bad($"entry '{Shown(entry.FullName)}': encrypted entries are not read.");
            using var data = entry.Open();
            var bytes = ReadEntry(data, entry.FullName, file, entry.Length, ref unpacked, maxUnpackedBytes);
            if (Kept.Contains(file)) files[file] = bytes;
        }
    }

    /// <summary>The entry count of a zip's end-of-central-directory record (searched from the end, past a comment of up to 64 KiB), or null.</summary>
    static int? ZipEntryCount(byte[] a)
    {
        for (int i = a.Length - 22; i >= Math.Max(0, a.Length - 22 - 0xFFFF); i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(a.AsSpan(i)) == 0x06054b50) return BinaryPrimitives.ReadUInt16LittleEndian(a.AsSpan(i + 10));
        return null;
    }

    static void UnpackTarGz(byte[] archive, long maxUnpackedBytes, Dictionary<string, byte[]> files, EntryNames names)
    {
        // Headers, padding and the end blocks decompress too: bound the whole stream, a little above the entries' own limit.
        using var gzip = new BoundedStream(new GZipStream(new MemoryStream(archive, writable: false), CompressionMode.Decompress),
            maxUnpackedBytes + (MaxEntries + 4) * 64 * 1024L, maxUnpackedBytes);
        using var tar = new TarReader(gzip);
        long unpacked = 0;
        TarEntry? entry;
        while ((entry = NextEntry(tar)) is not null)
        {
            if (entry.EntryType == TarEntryType.GlobalExtendedAttributes) { names.Check("./", true); continue; }   // pax's archive-wide header: counted, no file
            bool isDirectory = entry.EntryType == TarEntryType.Directory;
            if (!isDirectory && entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                throw Bad($"entry '{Shown(entry.Name)}': {entry.EntryType} entries (links, devices, pipes) are refused; only files are read.");
            string? file = names.Check(entry.Name, isDirectory);
            if (file is null) continue;
            var bytes = entry.DataStream is { } data ? ReadEntry(data, entry.Name, file, entry.Length, ref unpacked, maxUnpackedBytes) : [];
            if (Kept.Contains(file)) files[file] = bytes;
        }
    }

    /// <summary>
    /// TarReader refuses some malformed headers with InvalidOperationException rather than InvalidDataException (a pax
    /// extended-attributes entry whose size field exceeds its data), or OverflowException / ArgumentOutOfRangeException
    /// (a size or time field out of range): a corrupted archive all the same, so it is told as one.
    /// </summary>
    static TarEntry? NextEntry(TarReader tar)
    {
        try { return tar.GetNextEntry(copyData: false); }
        catch (Exception e) when (e is InvalidOperationException or OverflowException or ArgumentOutOfRangeException) { throw new InvalidDataException(e.Message, e); }
    }

    /// <summary>A read-only stream that stops with 413 once more than limit bytes came through (the decompressed side of a .tar.gz).</summary>
    sealed class BoundedStream(Stream inner, long limit, long shownLimit) : Stream
    {
        long _read;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            if ((_read += n) > limit)
                throw new ApiException(StatusCodes.Status413PayloadTooLarge, $"{Field}: the archive unpacks past this server's limit ({shownLimit:N0} bytes).", Field);
            return n;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
