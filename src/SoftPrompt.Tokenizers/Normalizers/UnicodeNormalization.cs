using System.Text;

namespace SoftPrompt.Tokenizers.Normalizers;

/// <summary>
/// NFD, NFC, NFKD and NFKC, implemented here because the runtime's <c>string.Normalize</c> does nothing
/// under InvariantGlobalization. Standard algorithm: full decomposition (Hangul by arithmetic),
/// canonical ordering of combining marks, then canonical composition.
/// </summary>
internal static class UnicodeNormalization
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    static readonly Dictionary<int, byte> Classes = BuildClasses();
    static readonly Dictionary<int, (int Start, int Length, bool Compat)> Decompositions = BuildDecompositions();
    static readonly Dictionary<long, int> Compositions = BuildCompositions();

    public static string Normalize(string s, bool compose, bool compatibility)
    {
        // Text below U+00A0 is the same in every form, and below U+0300 it is already NFC.
        int limit = compose && !compatibility ? 0x300 : 0xA0;
        int first = 0;
        while (first < s.Length && s[first] < limit) first++;
        if (first == s.Length) return s;

        var cps = new List<int>(s.Length + 8);
        foreach (var r in s.EnumerateRunes()) Decompose(r.Value, compatibility, cps);
        SortMarks(cps);
        if (compose) Compose(cps);
        var sb = new StringBuilder(cps.Count);
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(cp is >= 0xD800 and <= 0xDFFF ? 0xFFFD : cp));
        return sb.ToString();
    }

    public static int CombiningClass(int cp) => Classes.TryGetValue(cp, out byte c) ? c : 0;

    static void Decompose(int cp, bool compatibility, List<int> output)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            int index = cp - SBase;
            output.Add(LBase + index / NCount);
            output.Add(VBase + index % NCount / TCount);
            if (index % TCount != 0) output.Add(TBase + index % TCount);
            return;
        }
        if (Decompositions.TryGetValue(cp, out var d) && (compatibility || !d.Compat))
        {
            var data = UnicodeTables.Decompositions;
            for (int i = 0; i < d.Length; i++) Decompose(data[d.Start + i], compatibility, output);
            return;
        }
        output.Add(cp);
    }

    /// <summary>Canonical ordering: a stable sort of each run of non-starters by combining class.</summary>
    static void SortMarks(List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int c = CombiningClass(cps[i]);
            if (c == 0) continue;
            int j = i;
            while (j > 0 && CombiningClass(cps[j - 1]) > c)
            {
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
                j--;
            }
        }
    }

    static void Compose(List<int> cps)
    {
        int starter = -1, lastClass = -1, write = 0;
        for (int read = 0; read < cps.Count; read++)
        {
            int cp = cps[read];
            int cls = CombiningClass(cp);
            bool blocked = lastClass != -1 && (lastClass == 0 || lastClass >= cls);
            if (starter >= 0 && !blocked && TryCompose(cps[starter], cp, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            cps[write] = cp;
            if (cls == 0) { starter = write; lastClass = -1; }
            else lastClass = cls;
            write++;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    static bool TryCompose(int a, int b, out int composite)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }
        return Compositions.TryGetValue(((long)a << 32) | (uint)b, out composite);
    }

    static Dictionary<int, byte> BuildClasses()
    {
        var t = UnicodeTables.CombiningClasses;
        var d = new Dictionary<int, byte>(t.Length / 2);
        for (int i = 0; i < t.Length; i += 2) d[t[i]] = (byte)t[i + 1];
        return d;
    }

    static Dictionary<int, (int, int, bool)> BuildDecompositions()
    {
        var t = UnicodeTables.Decompositions;
        var d = new Dictionary<int, (int, int, bool)>();
        for (int i = 0; i < t.Length;)
        {
            int len = t[i + 1] & 0xFF;
            d[t[i]] = (i + 2, len, (t[i + 1] & 0x100) != 0);
            i += 2 + len;
        }
        return d;
    }

    static Dictionary<long, int> BuildCompositions()
    {
        var t = UnicodeTables.Compositions;
        var d = new Dictionary<long, int>(t.Length / 3);
        for (int i = 0; i < t.Length; i += 3) d[((long)t[i] << 32) | (uint)t[i + 1]] = t[i + 2];
        return d;
    }
}
