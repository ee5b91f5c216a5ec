using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.NN;

/// <summary>Which fan Kaiming initialisation preserves: the forward pass's (fan_in) or the backward pass's (fan_out).</summary>
public enum FanMode { FanIn, FanOut }

/// <summary>The nonlinearity a layer feeds, for the gain of Xavier/Kaiming initialisation (PyTorch's calculate_gain).</summary>
public enum Nonlinearity { Linear, Sigmoid, Tanh, Relu, LeakyRelu, Selu }

/// <summary>
/// Parameter initialisers with PyTorch's <c>torch.nn.init</c> semantics (bounds, gains, fans), drawing
/// from an explicit <see cref="Rng"/> so a seed reproduces a model. Each fills the tensor in place
/// and returns it.
/// </summary>
public static class Init
{
    public static Tensor Uniform(Tensor t, Rng rng, float low = 0f, float high = 1f)
    {
        rng.FillUniform(t.Span, low, high);
        return t;
    }

    public static Tensor Normal(Tensor t, Rng rng, float mean = 0f, float std = 1f)
    {
        rng.FillNormal(t.Span, mean, std);
        return t;
    }

    public static Tensor Constant(Tensor t, float value)
    {
        t.Span.Fill(value);
        return t;
    }

    public static Tensor Zeros(Tensor t) => Constant(t, 0f);
    public static Tensor Ones(Tensor t) => Constant(t, 1f);

    /// <summary>
    /// Normal(mean, std) restricted to [a, b] (absolute bounds, as in PyTorch's trunc_normal_), by rejection:
    /// exact for the truncated distribution; refused when [a, b] holds too little mass to sample quickly.
    /// </summary>
    public static Tensor TruncatedNormal(Tensor t, Rng rng, float mean = 0f, float std = 1f, float a = -2f, float b = 2f)
    {
        if (!(a < b) || !(std > 0f)) throw new ArgumentException($"TruncatedNormal needs a < b and std > 0 (a={a}, b={b}, std={std}).");
        double mass = 0.5 * (SpecialFunctions.Erf((b - mean) / (std * MathF.Sqrt(2f))) - SpecialFunctions.Erf((a - mean) / (std * MathF.Sqrt(2f))));
        if (mass < 1e-3) throw new ArgumentException($"TruncatedNormal: [{a}, {b}] holds only {mass:G3} of N({mean}, {std}²); rejection sampling would be too slow.");
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            float v;
            do v = mean + std * rng.NextNormal(); while (v < a || v > b);
            s[i] = v;
        }
        return t;
    }

    /// <summary>PyTorch's calculate_gain; <paramref name="negativeSlope"/> is used by LeakyRelu only.</summary>
    public static double Gain(Nonlinearity nonlinearity, double negativeSlope = 0.01) => nonlinearity switch
    {
        Nonlinearity.Linear or Nonlinearity.Sigmoid => 1.0,
        Nonlinearity.Tanh => 5.0 / 3.0,
        Nonlinearity.Relu => Math.Sqrt(2.0),
        Nonlinearity.LeakyRelu => Math.Sqrt(2.0 / (1.0 + negativeSlope * negativeSlope)),
        Nonlinearity.Selu => 0.75,
        _ => throw new ArgumentOutOfRangeException(nameof(nonlinearity)),
    };

    /// <summary>
    /// (fan_in, fan_out) of a weight laid out [out, in, *receptive field] as in PyTorch: a Linear weight
    /// [out, in] has fan_in = in, fan_out = out.
    /// </summary>
    public static (int FanIn, int FanOut) Fans(Tensor t)
    {
        if (t.Rank < 2) throw new ArgumentException($"Fan in and fan out need a tensor of rank at least 2, got shape {Tensor.Format(t.Shape)}.");
        int receptive = 1;
        for (int i = 2; i < t.Rank; i++) receptive *= t.Shape[i];
        return (t.Shape[1] * receptive, t.Shape[0] * receptive);
    }

    /// <summary>U(-a, a) with a = gain·√(6 / (fan_in + fan_out)).</summary>
    public static Tensor XavierUniform(Tensor t, Rng rng, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fans(t);
        float bound = (float)(gain * Math.Sqrt(6.0 / (fanIn + fanOut)));
        return Uniform(t, rng, -bound, bound);
    }

    /// <summary>N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).</summary>
    public static Tensor XavierNormal(Tensor t, Rng rng, double gain = 1.0)
    {
        var (fanIn, fanOut) = Fans(t);
        return Normal(t, rng, 0f, (float)(gain * Math.Sqrt(2.0 / (fanIn + fanOut))));
    }

    /// <summary>
    /// U(-b, b) with b = gain·√(3 / fan), gain from <paramref name="nonlinearity"/> with slope <paramref name="a"/>
    /// (PyTorch defaults: a = 0, fan_in, leaky_relu, i.e. the ReLU gain √2).
    /// </summary>
    public static Tensor KaimingUniform(Tensor t, Rng rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu)
    {
        double std = KaimingStd(t, a, mode, nonlinearity);
        float bound = (float)(Math.Sqrt(3.0) * std);
        return Uniform(t, rng, -bound, bound);
    }

    /// <summary>N(0, std²) with std = gain / √fan.</summary>
    public static Tensor KaimingNormal(Tensor t, Rng rng, double a = 0, FanMode mode = FanMode.FanIn, Nonlinearity nonlinearity = Nonlinearity.LeakyRelu) =>
        Normal(t, rng, 0f, (float)KaimingStd(t, a, mode, nonlinearity));

    static double KaimingStd(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity)
    {
        var (fanIn, fanOut) = Fans(t);
        int fan = mode == FanMode.FanIn ? fanIn : fanOut;
        if (fan == 0) throw new ArgumentException($"Kaiming initialisation of an empty tensor (shape {Tensor.Format(t.Shape)}).");
        return Gain(nonlinearity, a) / Math.Sqrt(fan);
    }
}
