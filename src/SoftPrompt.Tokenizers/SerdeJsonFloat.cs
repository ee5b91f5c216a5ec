using System.Globalization;

namespace SoftPrompt.Tokenizers;

/// <summary>
/// Reads a JSON number to the same double as Rust's serde_json does by default (without its
/// float_roundtrip feature): up to 19 significant digits kept in a u64, later digits dropped, then one
/// multiplication or division by a power of ten. That can be one unit in the last place away from the
/// correctly rounded value that .NET gives, and Unigram scores that tie in one are not tied in the
/// other: the Viterbi path then differs. So Unigram scores are read this way.
/// </summary>
internal static class SerdeJsonFloat
{
    public static double Parse(string s)
    {
        int i = 0;
        bool positive = true;
        if (i < s.Length && s[i] == '-') { positive = false; i++; }
        ulong significand = 0;
        int exponent = 0;
        bool dropping = false;
        for (; i < s.Length && char.IsAsciiDigit(s[i]); i++)
        {
            ulong digit = (ulong)(s[i] - '0');
            if (Overflows(significand, digit)) return double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);   // > 20 integer digits: never in tokenizer files
            significand = significand * 10 + digit;
        }
        if (i < s.Length && s[i] == '.')
        {
            for (i++; i < s.Length && char.IsAsciiDigit(s[i]); i++)
            {
                if (dropping) continue;
                ulong digit = (ulong)(s[i] - '0');
                if (Overflows(significand, digit)) { dropping = true; continue; }
                significand = significand * 10 + digit;
                exponent--;
            }
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            bool expPositive = true;
            if (i < s.Length && s[i] is '+' or '-') { expPositive = s[i] == '+'; i++; }
            int e = 0;
            for (; i < s.Length && char.IsAsciiDigit(s[i]); i++) e = Math.Min(e * 10 + (s[i] - '0'), 100_000);
            exponent += expPositive ? e : -e;
        }
        return FromParts(positive, significand, exponent);
    }

    /// <summary>1e0 … 1e308, each the correctly rounded double, as Rust's literals are.</summary>
    static readonly double[] Pow10 = Enumerable.Range(0, 309).Select(k => double.Parse($"1e{k}", CultureInfo.InvariantCulture)).ToArray();

    static bool Overflows(ulong a, ulong digit) => a >= ulong.MaxValue / 10 && (a > ulong.MaxValue / 10 || digit > ulong.MaxValue % 10);

    static double FromParts(bool positive, ulong significand, int exponent)
    {
        double f = significand;
        while (true)
        {
            int abs = Math.Abs(exponent);
            if (abs <= 308)
            {
                double pow = Pow10[abs];
                f = exponent >= 0 ? f * pow : f / pow;
                break;
            }
            if (f == 0) break;
            if (exponent >= 0) return positive ? double.PositiveInfinity : double.NegativeInfinity;
            f /= 1e308;
            exponent += 308;
        }
        return positive ? f : -f;
    }
}
