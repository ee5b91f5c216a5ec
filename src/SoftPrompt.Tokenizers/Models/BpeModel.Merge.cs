namespace SoftPrompt.Tokenizers.Models;

internal sealed partial class BpeModel
{
    /// <summary>Words up to this many symbols are merged by scanning for the best pair; longer ones use a heap.</summary>
    const int ScanLimit = 48;

    /// <summary>
    /// Merges the symbols in <paramref name="s"/> until no adjacent pair has a merge: always the pair of
    /// lowest rank, the leftmost of equals — the order Hugging Face's heap of (rank, position) gives.
    /// </summary>
    void MergeAll(BpeScratch s)
    {
        if (s.Count < 2) return;
        if (s.Count > ScanLimit) { MergeWithHeap(s); return; }
        int[] ids = s.Ids, next = s.Next, prev = s.Prev, rank = s.Rank, newId = s.NewId;
        for (int i = 0; i < s.Count; i++) SetPair(s, i);
        while (true)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i >= 0; i = next[i])
                if (rank[i] < best) { best = rank[i]; at = i; }
            if (at < 0) return;
            int right = next[at];
            ids[at] = newId[at];
            next[at] = next[right];
            if (next[right] >= 0) prev[next[right]] = at;
            SetPair(s, at);
            if (prev[at] >= 0) SetPair(s, prev[at]);
        }
    }

    void SetPair(BpeScratch s, int i)
    {
        int j = s.Next[i];
        if (j >= 0 && _merges.TryGetValue(Key(s.Ids[i], s.Ids[j]), out var m))
        {
            s.Rank[i] = m.Rank;
            s.NewId[i] = m.NewId;
        }
        else s.Rank[i] = int.MaxValue;
    }

    /// <summary>Hugging Face's <c>Word::merge_all</c> as written: a heap of (rank, position), stale entries skipped.</summary>
    void MergeWithHeap(BpeScratch s)
    {
        int[] ids = s.Ids, next = s.Next, prev = s.Prev;
        var queue = s.Queue;
        queue.Clear();
        var alive = new bool[s.Count];
        Array.Fill(alive, true);
        for (int i = 0; i + 1 < s.Count; i++) Enqueue(queue, ids[i], ids[i + 1], i);
        while (queue.TryDequeue(out var top, out long priority))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (!_merges.TryGetValue(Key(ids[pos], ids[right]), out var m) || m.NewId != top.NewId) continue;
            ids[pos] = top.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;
            if (prev[pos] >= 0) Enqueue(queue, ids[prev[pos]], ids[pos], prev[pos]);
            if (next[pos] >= 0) Enqueue(queue, ids[pos], ids[next[pos]], pos);
        }
    }

    void Enqueue(PriorityQueue<(int Pos, int NewId), long> queue, int left, int right, int pos)
    {
        if (_merges.TryGetValue(Key(left, right), out var m)) queue.Enqueue((pos, m.NewId), ((long)m.Rank << 32) | (uint)pos);
    }

    internal static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
