namespace SoftPrompt.Server.Store;

/// <summary>
/// An adapter as the store moves it: a flat folder of files (adapter_config.json, adapter_model.safetensors,
/// softprompt.json) read as (name, bytes) pairs, and written back whole: into a fresh sibling folder first, then renamed,
/// so a reader finds either no folder or a complete one.
/// </summary>
internal static class AdapterFiles
{
    public static List<(string Name, byte[] Bytes)> Read(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"adapter folder {directory}: no such directory.");
        if (Directory.EnumerateDirectories(directory).Any()) throw new ArgumentException($"adapter folder {directory}: has subfolders; an adapter is a flat folder of files.");
        var files = Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
        if (files.Count == 0) throw new ArgumentException($"adapter folder {directory}: no files.");
        return files;
    }

    public static void WriteFolder(string target, IEnumerable<(string Name, byte[] Bytes)> files)
    {
        string partial = Path.Combine(Path.GetDirectoryName(target)!, $".partial-{Path.GetFileName(target)}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(partial);
        try
        {
            foreach (var (name, bytes) in files)
            {
                // Names come from the store, which only holds names read from a folder; checked anyway before they become paths.
                if (!IsPlainFileName(name)) throw new InvalidDataException($"adapter file name '{name}' in the store: not a plain file name.");
                File.WriteAllBytes(Path.Combine(partial, name), bytes);
            }
            try { Directory.Move(partial, target); }
            catch (IOException) when (Directory.Exists(target)) { }   // another request materialised it first; the adapter is the same
        }
        finally
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        }
    }

    /// <summary>Folders left by a writer that stopped midway (names starting ".partial-"): safe to remove when no writer runs.</summary>
    public static bool IsPartialFolder(string name) => name.StartsWith(".partial-", StringComparison.Ordinal);

    static bool IsPlainFileName(string name) =>
        name.Length is > 0 and <= 255 && name is not ("." or "..") && name.IndexOfAny(['/', '\\', '\0']) < 0;
}
