namespace SoftPrompt.Tuning.Reporting;

/// <summary>Which y axis a series is drawn against: losses on the left, metrics in their own range on the right.</summary>
public enum PlotAxis { Left, Right }

/// <summary>A named line of (step, value) points. Non-finite values break the line (a gap, not a dive to zero).</summary>
public sealed record CurveSeries(string Name, IReadOnlyList<(double X, double Y)> Points, PlotAxis Axis = PlotAxis.Left);
