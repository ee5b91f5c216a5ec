namespace SoftPrompt.Tuning.Reporting;

/// <summary>"Nice" axis ticks: steps of 1, 2 or 5 × 10^k covering a range with about the asked number of ticks.</summary>
static class AxisTicks
{
    public static (double Min, double Max, double[] Ticks) For(double min, double max, int target = 5)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max)) (min, max) = (0, 1);
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max)))
        {
            // A flat series still gets a visible axis around its value.
            double pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.1 : 1;
            (min, max) = (min - pad, max + pad);
        }
        double step = Nice((max - min) / target);
        double lo = Math.Floor(min / step) * step, hi = Math.Ceiling(max / step) * step;
        int n = (int)Math.Round((hi - lo) / step);
        var ticks = new double[n + 1];
        int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step)));
        for (int i = 0; i <= n; i++) ticks[i] = Math.Round(lo + i * step, Math.Min(15, decimals + 1));
        return (lo, hi, ticks);
    }

    static double Nice(double raw)
    {
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / mag;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    }

    public static string Format(double v) =>
        v == 0 ? "0" : Math.Abs(v) >= 1e5 || Math.Abs(v) < 1e-3 ? v.ToString("0.##e0", System.Globalization.CultureInfo.InvariantCulture)
        : v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
}
