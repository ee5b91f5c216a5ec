namespace SoftPrompt.Tensors;

/// <summary>Thrown when an op's operands have incompatible shapes; the message names the op and every shape.</summary>
public sealed class ShapeMismatchException(string message) : ArgumentException(message);

/// <summary>Shape validation shared by the ops.</summary>
internal static class ShapeCheck
{
    public static void Same(string op, Tensor a, Tensor b)
    {
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ShapeMismatchException($"{op}: shapes {Tensor.Format(a.Shape)} and {Tensor.Format(b.Shape)} must be equal.");
    }

    public static void Rank(string op, Tensor a, int rank, string what = "input")
    {
        if (a.Rank != rank)
            throw new ShapeMismatchException($"{op}: {what} must have rank {rank}, got shape {Tensor.Format(a.Shape)}.");
    }

    public static void MinRank(string op, Tensor a, int rank, string what = "input")
    {
        if (a.Rank < rank)
            throw new ShapeMismatchException($"{op}: {what} must have rank at least {rank}, got shape {Tensor.Format(a.Shape)}.");
    }

    public static ShapeMismatchException Fail(string op, string message, params Tensor[] operands) =>
        new($"{op}: {message} (shapes {string.Join(" and ", operands.Select(t => Tensor.Format(t.Shape)))}).");
}
