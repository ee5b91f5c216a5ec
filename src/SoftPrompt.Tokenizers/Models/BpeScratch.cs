using System.Text;

namespace SoftPrompt.Tokenizers.Models;

/// <summary>One thread's working memory for BPE: the symbol list of the word being merged, and the word caches.</summary>
internal sealed class BpeScratch
{
    /// <summary>Pieces this long or longer are not cached (Hugging Face caches below 256 too).</summary>
    public const int MaxCachedLength = 256;

    public int[] Ids = new int[64];     // symbol ids
    public int[] Next = new int[64];    // linked list over the symbols; -1 ends it
    public int[] Prev = new int[64];
    public int[] Rank = new int[64];    // rank of the pair (i, Next[i]), int.MaxValue when none
    public int[] NewId = new int[64];   // the id that pair merges into
    public int Count;
    public byte[] Bytes = new byte[256];
    public readonly PriorityQueue<(int Pos, int NewId), long> Queue = new();

    public readonly WordCache RawCache = new(), TextCache = new();

    public void Reset(int capacity)
    {
        Count = 0;
        if (Ids.Length < capacity)
        {
            int n = Math.Max(capacity, Ids.Length * 2);
            Ids = new int[n]; Next = new int[n]; Prev = new int[n]; Rank = new int[n]; NewId = new int[n];
        }
    }

    public void Push(int id)
    {
        if (Count == Ids.Length) Grow();
        Ids[Count] = id;
        Prev[Count] = Count - 1;
        Next[Count] = -1;
        if (Count > 0) Next[Count - 1] = Count;
        Count++;
    }

    void Grow()
    {
        int n = Ids.Length * 2;
        Array.Resize(ref Ids, n); Array.Resize(ref Next, n); Array.Resize(ref Prev, n); Array.Resize(ref Rank, n); Array.Resize(ref NewId, n);
    }

    /// <summary>Encodes <paramref name="text"/> as UTF-8 into <see cref="Bytes"/>; returns the byte count.</summary>
    public int Utf8(ReadOnlySpan<char> text)
    {
        int max = text.Length * 3;
        if (Bytes.Length < max) Bytes = new byte[Math.Max(max, Bytes.Length * 2)];
        return Encoding.UTF8.GetBytes(text, Bytes);
    }

    /// <summary>Appends the surviving symbols, in order.</summary>
    public void CopyTo(List<int> ids)
    {
        if (Count == 0) return;
        for (int i = 0; i >= 0; i = Next[i]) ids.Add(Ids[i]);
    }
}

/// <summary>Piece text → ids, looked up by span; cleared when it grows past a bound so memory stays flat.</summary>
internal sealed class WordCache
{
    const int MaxEntries = 1 << 18;
    readonly Dictionary<string, int[]> _map = new(StringComparer.Ordinal);

    public WordCache() => Lookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();

    public Dictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

    public void Add(ReadOnlySpan<char> word, List<int> ids, int from)
    {
        if (_map.Count >= MaxEntries) _map.Clear();
        var value = new int[ids.Count - from];
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids)[from..].CopyTo(value);
        _map[word.ToString()] = value;
    }
}
