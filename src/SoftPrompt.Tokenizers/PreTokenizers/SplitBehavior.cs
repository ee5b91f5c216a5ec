namespace SoftPrompt.Tokenizers.PreTokenizers;

/// <summary>What happens to the matches of a split pattern (Hugging Face's SplitDelimiterBehavior).</summary>
internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

internal static class Splitter
{
    public static SplitBehavior Parse(TokenizerJson value) => value.String() switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        var other => throw value.Error($"unknown split behavior '{other}' (supported: Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)"),
    };

    /// <summary>
    /// Cuts <paramref name="piece"/> at <paramref name="matches"/> (relative to the piece, ascending,
    /// not overlapping) as Hugging Face's <c>NormalizedString::split</c> does, appending the kept parts.
    /// </summary>
    public static void Apply(Piece piece, List<(int Start, int Length)> matches, SplitBehavior behavior, bool invert, List<Piece> output)
    {
        // The segments: gaps and matches alternating, covering the piece.
        int n = piece.Length;
        var segments = matches.Count * 2 + 1 <= 64 ? stackalloc (int Start, int End, bool IsMatch)[matches.Count * 2 + 1] : new (int, int, bool)[matches.Count * 2 + 1];
        int count = 0, prev = 0;
        foreach (var (start, length) in matches)
        {
            if (prev != start) segments[count++] = (prev, start, invert);
            segments[count++] = (start, start + length, !invert);
            prev = start + length;
        }
        if (prev != n || count == 0) segments[count++] = (prev, n, invert);
        segments = segments[..count];

        switch (behavior)
        {
            case SplitBehavior.Isolated:
                foreach (var s in segments) Emit(piece, s.Start, s.End, output);
                break;
            case SplitBehavior.Removed:
                foreach (var s in segments) if (!s.IsMatch) Emit(piece, s.Start, s.End, output);
                break;
            case SplitBehavior.Contiguous:
            case SplitBehavior.MergedWithPrevious:
            {
                // A match joins the segment before it (Contiguous: a match joins a match before it).
                int curStart = -1, curEnd = -1;
                bool previousMatch = false;
                foreach (var s in segments)
                {
                    bool join = behavior == SplitBehavior.Contiguous ? s.IsMatch == previousMatch : s.IsMatch && !previousMatch;
                    if (join && curStart >= 0) curEnd = s.End;
                    else
                    {
                        if (curStart >= 0) Emit(piece, curStart, curEnd, output);
                        (curStart, curEnd) = (s.Start, s.End);
                    }
                    previousMatch = s.IsMatch;
                }
                if (curStart >= 0) Emit(piece, curStart, curEnd, output);
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                // Walk backwards: a match joins the segment after it.
                Span<(int Start, int End)> merged = segments.Length <= 64 ? stackalloc (int, int)[segments.Length] : new (int, int)[segments.Length];
                int m = 0;
                bool previousMatch = false;
                for (int i = segments.Length - 1; i >= 0; i--)
                {
                    var s = segments[i];
                    if (s.IsMatch && !previousMatch && m > 0) merged[m - 1].Start = s.Start;
                    else merged[m++] = (s.Start, s.End);
                    previousMatch = s.IsMatch;
                }
                for (int i = m - 1; i >= 0; i--) Emit(piece, merged[i].Start, merged[i].End, output);
                break;
            }
        }
    }

    static void Emit(Piece piece, int start, int end, List<Piece> output)
    {
        if (end > start) output.Add(piece.Slice(start, end - start));
    }
}
