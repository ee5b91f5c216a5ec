using System.Globalization;
using System.Text;

namespace SoftPrompt.Tuning.Reporting;

/// <summary>
/// A self-contained SVG line chart of named series against the step: a frame, x and y ticks with
/// labels, a left axis (losses) and, when any series asks for it, a right axis with its own range
/// (accuracy, F1), and a legend. No dependencies: the SVG is written as text and opens in any browser.
/// </summary>
public sealed class CurvePlot
{
    static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
    readonly List<CurveSeries> _series = [];

    public string Title { get; init; } = "Training";
    public string XLabel { get; init; } = "step";
    public string LeftLabel { get; init; } = "loss";
    public string RightLabel { get; init; } = "metric";
    public int Width { get; init; } = 800;
    public int Height { get; init; } = 480;

    public IReadOnlyList<CurveSeries> Series => _series;

    public CurvePlot Add(CurveSeries series) { _series.Add(series); return this; }

    public CurvePlot Add(string name, IEnumerable<(double X, double Y)> points, PlotAxis axis = PlotAxis.Left) =>
        Add(new CurveSeries(name, points.ToArray(), axis));

    /// <summary>
    /// The usual curves from a training log: "loss" and every value whose name contains "loss" on the
    /// left axis, the other metrics (accuracy, f1, …) on the right; the learning rate, throughput, epoch
    /// and elapsed time are left out (they are not curves of quality).
    /// </summary>
    public static CurvePlot FromLog(IEnumerable<TrainingRecord> records, string title = "Training")
    {
        var list = records.ToList();
        var plot = new CurvePlot { Title = title };
        var names = new List<string>();
        if (list.Any(r => r.Loss is not null)) names.Add("loss");
        foreach (var r in list) foreach (var n in r.Metrics.Keys) if (!names.Contains(n)) names.Add(n);
        foreach (var name in names)
        {
            var points = list.Where(r => r.Get(name) is not null).Select(r => ((double)r.Step, r.Get(name)!.Value)).ToArray();
            plot.Add(name, points, name.Contains("loss", StringComparison.OrdinalIgnoreCase) ? PlotAxis.Left : PlotAxis.Right);
        }
        return plot;
    }

    public void Save(string path) => File.WriteAllText(path, ToSvg(), new UTF8Encoding(false));

    public string ToSvg()
    {
        bool right = _series.Any(s => s.Axis == PlotAxis.Right);
        const int top = 48, bottom = 56, left = 76;
        int rightMargin = right ? 76 : 24;
        double pw = Width - left - rightMargin, ph = Height - top - bottom;

        var xr = Range(s => true, p => p.X);
        var lr = Range(s => s.Axis == PlotAxis.Left, p => p.Y);
        var rr = Range(s => s.Axis == PlotAxis.Right, p => p.Y);
        var (x0, x1, xTicks) = AxisTicks.For(xr.Min, xr.Max);
        var (l0, l1, lTicks) = AxisTicks.For(lr.Min, lr.Max);
        var (r0, r1, rTicks) = AxisTicks.For(rr.Min, rr.Max);
        double X(double v) => left + (v - x0) / (x1 - x0) * pw;
        double Y(double v, PlotAxis a) => a == PlotAxis.Left ? top + (l1 - v) / (l1 - l0) * ph : top + (r1 - v) / (r1 - r0) * ph;

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        sb.Append($"<title>{Esc(Title)}</title>\n");
        sb.Append($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n");
        sb.Append($"<text x=\"{Width / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{Esc(Title)}</text>\n");

        // Grid and ticks.
        sb.Append("<g class=\"x-axis\" stroke=\"#ddd\">\n");
        foreach (var t in xTicks)
            sb.Append($"<line x1=\"{N(X(t))}\" y1=\"{top}\" x2=\"{N(X(t))}\" y2=\"{N(top + ph)}\"/><text x=\"{N(X(t))}\" y=\"{N(top + ph + 18)}\" text-anchor=\"middle\" stroke=\"none\" fill=\"#333\">{AxisTicks.Format(t)}</text>\n");
        sb.Append("</g>\n<g class=\"left-axis\" stroke=\"#ddd\">\n");
        foreach (var t in lTicks)
            sb.Append($"<line x1=\"{left}\" y1=\"{N(Y(t, PlotAxis.Left))}\" x2=\"{N(left + pw)}\" y2=\"{N(Y(t, PlotAxis.Left))}\"/><text x=\"{left - 6}\" y=\"{N(Y(t, PlotAxis.Left) + 4)}\" text-anchor=\"end\" stroke=\"none\" fill=\"#333\">{AxisTicks.Format(t)}</text>\n");
        sb.Append("</g>\n");
        if (right)
        {
            sb.Append("<g class=\"right-axis\" stroke=\"#333\">\n");
            foreach (var t in rTicks)
                sb.Append($"<line x1=\"{N(left + pw)}\" y1=\"{N(Y(t, PlotAxis.Right))}\" x2=\"{N(left + pw + 5)}\" y2=\"{N(Y(t, PlotAxis.Right))}\"/><text x=\"{N(left + pw + 8)}\" y=\"{N(Y(t, PlotAxis.Right) + 4)}\" stroke=\"none\" fill=\"#333\">{AxisTicks.Format(t)}</text>\n");
            sb.Append("</g>\n");
            sb.Append($"<text transform=\"translate({N(Width - 16)},{N(top + ph / 2)}) rotate(90)\" text-anchor=\"middle\">{Esc(RightLabel)}</text>\n");
        }
        sb.Append($"<rect x=\"{left}\" y=\"{top}\" width=\"{N(pw)}\" height=\"{N(ph)}\" fill=\"none\" stroke=\"#333\"/>\n");
        sb.Append($"<text x=\"{N(left + pw / 2)}\" y=\"{Height - 14}\" text-anchor=\"middle\">{Esc(XLabel)}</text>\n");
        sb.Append($"<text transform=\"translate(18,{N(top + ph / 2)}) rotate(-90)\" text-anchor=\"middle\">{Esc(LeftLabel)}</text>\n");

        // Series: one polyline per finite run, markers when there are few points (an eval every N steps).
        for (int i = 0; i < _series.Count; i++)
        {
            var s = _series[i];
            string color = Palette[i % Palette.Length];
            string dash = s.Axis == PlotAxis.Right ? " stroke-dasharray=\"6 3\"" : "";
            sb.Append($"<g class=\"series\" data-name=\"{Esc(s.Name)}\" data-axis=\"{s.Axis.ToString().ToLowerInvariant()}\" stroke=\"{color}\" fill=\"none\">\n");
            var run = new List<string>();
            void FlushRun()
            {
                if (run.Count > 0) sb.Append($"<polyline stroke-width=\"1.8\"{dash} points=\"{string.Join(' ', run)}\"/>\n");
                run.Clear();
            }
            foreach (var (px, py) in s.Points)
            {
                if (!double.IsFinite(px) || !double.IsFinite(py)) { FlushRun(); continue; }
                run.Add($"{N(X(px))},{N(Y(py, s.Axis))}");
            }
            FlushRun();
            if (s.Points.Count <= 40)
                foreach (var (px, py) in s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)))
                    sb.Append($"<circle cx=\"{N(X(px))}\" cy=\"{N(Y(py, s.Axis))}\" r=\"2.5\" fill=\"{color}\"/>\n");
            sb.Append("</g>\n");
        }

        // Legend, top right inside the frame.
        if (_series.Count > 0)
        {
            int lw = 16 + 7 * _series.Max(s => s.Name.Length + (s.Axis == PlotAxis.Right ? 4 : 0)) + 30;
            double lx = left + pw - lw - 8, ly = top + 8;
            sb.Append($"<g class=\"legend\"><rect x=\"{N(lx)}\" y=\"{N(ly)}\" width=\"{lw}\" height=\"{18 * _series.Count + 8}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999\"/>\n");
            for (int i = 0; i < _series.Count; i++)
            {
                double y = ly + 16 + 18 * i;
                string dash = _series[i].Axis == PlotAxis.Right ? " stroke-dasharray=\"6 3\"" : "";
                string suffix = right ? (_series[i].Axis == PlotAxis.Right ? " (R)" : " (L)") : "";
                sb.Append($"<line x1=\"{N(lx + 8)}\" y1=\"{N(y - 4)}\" x2=\"{N(lx + 32)}\" y2=\"{N(y - 4)}\" stroke=\"{Palette[i % Palette.Length]}\" stroke-width=\"2\"{dash}/>");
                sb.Append($"<text x=\"{N(lx + 38)}\" y=\"{N(y)}\">{Esc(_series[i].Name + suffix)}</text>\n");
            }
            sb.Append("</g>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>Finite extent of the chosen series' values; (0, 1) when there are none.</summary>
    (double Min, double Max) Range(Func<CurveSeries, bool> which, Func<(double X, double Y), double> value)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var s in _series.Where(which))
            foreach (var p in s.Points)
            {
                if (!double.IsFinite(p.X) || !double.IsFinite(p.Y)) continue;
                double v = value(p);
                min = Math.Min(min, v); max = Math.Max(max, v);
            }
        return double.IsFinite(min) ? (min, max) : (0, 1);
    }

    static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    // Control characters are not allowed in XML 1.0 at all; they are dropped rather than escaped.
    static string Esc(string s) => new string(s.Where(c => c >= ' ' || c is '\t').ToArray()).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
}
