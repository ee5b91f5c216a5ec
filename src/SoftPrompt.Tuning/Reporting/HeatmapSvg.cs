using System.Globalization;
using System.Text;

namespace SoftPrompt.Tuning.Reporting;

/// <summary>
/// Self-contained SVG heatmaps: one panel per named matrix [rows, cols] (e.g. layers × heads), cells
/// shaded white → dark blue over [0, max] with the value written in each cell, rows and columns labelled.
/// </summary>
public static class HeatmapSvg
{
    public static string Render(string title, string rowLabel, string colLabel, IReadOnlyList<(string Name, double[,] Values)> panels)
    {
        const int cell = 44, left = 70, top = 60, gap = 60;
        int rows = panels[0].Values.GetLength(0), cols = panels[0].Values.GetLength(1);
        int panelWidth = cols * cell, width = left + panels.Count * (panelWidth + gap), height = top + rows * cell + 50;
        var ic = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(ic, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(ic, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n<text x=\"{left}\" y=\"20\" font-size=\"14\">{Escape(title)}</text>\n");
        for (int p = 0; p < panels.Count; p++)
        {
            var (name, v) = panels[p];
            double max = 0;
            foreach (double x in v) max = Math.Max(max, Math.Abs(x));
            int x0 = left + p * (panelWidth + gap);
            sb.Append(ic, $"<text x=\"{x0}\" y=\"{top - 22}\" font-size=\"12\">{Escape(name)} (max {max:G3})</text>\n");
            for (int r = 0; r < rows; r++)
            {
                if (p == 0) sb.Append(ic, $"<text x=\"{left - 8}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"end\">{Escape(rowLabel)} {r}</text>\n");
                for (int c = 0; c < cols; c++)
                {
                    double t = max > 0 ? Math.Abs(v[r, c]) / max : 0;
                    int shade = (int)Math.Round(255 * (1 - 0.85 * t));
                    string fill = $"rgb({shade},{shade},{Math.Min(255, shade + 40)})";
                    sb.Append(ic, $"<rect x=\"{x0 + c * cell}\" y=\"{top + r * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#ccc\"/>\n");
                    sb.Append(ic, $"<text x=\"{x0 + c * cell + cell / 2}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"middle\" fill=\"{(t > 0.6 ? "white" : "black")}\">{Format(v[r, c])}</text>\n");
                }
            }
            for (int c = 0; c < cols; c++)
                sb.Append(ic, $"<text x=\"{x0 + c * cell + cell / 2}\" y=\"{top + rows * cell + 16}\" text-anchor=\"middle\">{c}</text>\n");
            sb.Append(ic, $"<text x=\"{x0 + panelWidth / 2}\" y=\"{top + rows * cell + 34}\" text-anchor=\"middle\">{Escape(colLabel)}</text>\n");
        }
        return sb.Append("</svg>\n").ToString();
    }

    static string Format(double x) => Math.Abs(x) < 1e-3 && x != 0 ? x.ToString("0.0e0", CultureInfo.InvariantCulture) : x.ToString("0.00", CultureInfo.InvariantCulture);

    static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
