using System.Xml.Linq;
using SoftPrompt.Tuning.Data;
using SoftPrompt.Tuning.Reporting;

namespace SoftPrompt.Tuning.Tests;

public sealed class ReportingTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "softprompt-reporting-" + Guid.NewGuid().ToString("N"));

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static TrainingRecord Rec(long step, double loss, double? acc = null) => new()
    {
        Step = step, Epoch = step / 10.0, Loss = loss, LearningRate = 1e-3, TokensPerSecond = 1234.5,
        Metrics = acc is double a ? new Dictionary<string, double> { ["eval_accuracy"] = a, ["eval_loss"] = loss + 0.1 } : new Dictionary<string, double>(),
    };

    [Fact]
    public void Log_lines_are_on_disk_after_each_write_and_read_back()
    {
        string path = Path.Combine(_dir, "run", "log.jsonl");
        using (var log = new TrainingLog(path))
        {
            log.Write(Rec(1, 2.5));
            // Readable by another reader while the log is open: nothing buffered in memory.
            Assert.Single(TrainingLog.Read(path));
            log.Write(Rec(2, double.NaN, 0.5));
            var lines = File.ReadAllLines(path);   // FileShare.Read lets us look while it is open
            Assert.Equal(2, lines.Length);
            Assert.Equal("{\"step\":1,\"epoch\":0.1,\"loss\":2.5,\"lr\":0.001,\"tokens_per_s\":1234.5}", lines[0]);
            Assert.Contains("\"loss\":\"NaN\"", lines[1]);
        }
        var back = TrainingLog.Read(path);
        Assert.Equal(2, back.Count);
        Assert.Equal(2.5, back[0].Loss);
        Assert.True(double.IsNaN(back[1].Loss!.Value));
        Assert.Equal(0.5, back[1].Metrics["eval_accuracy"]);
        Assert.Equal(0.001, back[1].LearningRate);

        using (var log = new TrainingLog(path, append: true)) log.Write(Rec(3, 1.0));
        Assert.Equal([1L, 2, 3], TrainingLog.Read(path).Select(r => r.Step));
    }

    [Fact]
    public void A_line_cut_off_by_a_crash_is_skipped_but_other_bad_lines_are_errors()
    {
        Directory.CreateDirectory(_dir);
        string path = Path.Combine(_dir, "log.jsonl");
        File.WriteAllText(path, "{\"step\":1,\"loss\":2}\n{\"step\":2,\"lo");
        Assert.Single(TrainingLog.Read(path));
        File.WriteAllText(path, "{\"step\":1,\"loss\":2}\n{\"step\":2,\"lo\n{\"step\":3}\n");
        Assert.Contains("log.jsonl:2:", Assert.Throws<DataFormatException>(() => TrainingLog.Read(path)).Message);
    }

    [Fact]
    public void Metric_may_not_shadow_a_fixed_field()
    {
        using var log = new TrainingLog(Path.Combine(_dir, "l.jsonl"));
        Assert.Throws<ArgumentException>(() => log.Write(new TrainingRecord { Step = 1, Metrics = new Dictionary<string, double> { ["loss"] = 1 } }));
    }

    [Fact]
    public void Svg_is_well_formed_and_holds_every_series()
    {
        var records = Enumerable.Range(1, 30).Select(i => Rec(i, 3.0 / i, i % 10 == 0 ? i / 40.0 : null)).ToList();
        var plot = CurvePlot.FromLog(records, "run <1> & co");
        Assert.Equal(["loss", "eval_accuracy", "eval_loss"], plot.Series.Select(s => s.Name));
        Assert.Equal(PlotAxis.Right, plot.Series[1].Axis);
        Assert.Equal(PlotAxis.Left, plot.Series[2].Axis);
        string path = Path.Combine(_dir, "curves.svg");
        Directory.CreateDirectory(_dir);
        plot.Save(path);

        var doc = XDocument.Load(path);
        XNamespace svg = "http://www.w3.org/2000/svg";
        Assert.Equal(svg + "svg", doc.Root!.Name);
        var groups = doc.Descendants(svg + "g").Where(g => (string?)g.Attribute("class") == "series").ToList();
        Assert.Equal(["loss", "eval_accuracy", "eval_loss"], groups.Select(g => (string)g.Attribute("data-name")!));
        var lossPoints = ((string)groups[0].Element(svg + "polyline")!.Attribute("points")!).Split(' ');
        Assert.Equal(30, lossPoints.Length);
        Assert.Equal(3, groups[1].Elements(svg + "circle").Count());
        Assert.Contains(doc.Descendants(svg + "text"), t => t.Value == "eval_accuracy (R)");
        Assert.Contains(doc.Descendants(svg + "text"), t => t.Value == "run <1> & co");
        Assert.NotNull(doc.Descendants(svg + "g").FirstOrDefault(g => (string?)g.Attribute("class") == "right-axis"));
        // Loss falls, so its polyline's y (SVG y grows downward) rises from first to last point.
        double Y(string p) => double.Parse(p.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Y(lossPoints[0]) < Y(lossPoints[^1]));
    }

    [Fact]
    public void Non_finite_values_break_the_line_and_empty_plots_still_render()
    {
        var plot = new CurvePlot().Add("loss", [(1, 1.0), (2, double.NaN), (3, 0.5), (4, 0.4)]);
        var doc = XDocument.Parse(plot.ToSvg());
        XNamespace svg = "http://www.w3.org/2000/svg";
        Assert.Equal(2, doc.Descendants(svg + "polyline").Count());
        Assert.Null(doc.Descendants(svg + "g").FirstOrDefault(g => (string?)g.Attribute("class") == "right-axis"));
        XDocument.Parse(new CurvePlot().ToSvg());
        XDocument.Parse(new CurvePlot().Add("flat\u0001", [(5, 2.0)]).ToSvg());
    }

    [Fact]
    public void PaceGivesSecondsAStepAndTheTimeLeftFromThisSessionsSteps()
    {
        Assert.Equal("42 s", Pace.Duration(42.4));
        Assert.Equal("12 min 05 s", Pace.Duration(725));
        Assert.Equal("5 h 40 min", Pace.Duration(5 * 3600 + 40 * 60 + 59));
        var pace = new Pace(startStep: 4_000);
        Assert.Equal("", pace.Describe(4_000, 100_000));   // nothing measured yet this session
        Thread.Sleep(20);
        string line = pace.Describe(4_002, 100_000);
        Assert.Matches(@"^, [0-9]+\.[0-9]{3} s/step, .+ left$", line);
        Assert.EndsWith(", 0 s left", pace.Describe(100_000, 100_000));
    }
}
