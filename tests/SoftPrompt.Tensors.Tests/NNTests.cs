using SoftPrompt.Tensors.Autograd;
using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tensors.Ops;

namespace SoftPrompt.Tensors.Tests;

public class NNTests
{
    static Tensor Random(Rng rng, params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return t;
    }

    [Fact]
    public void Linear_HasPyTorchLayoutInitAndForward()
    {
        var rng = new Rng(1);
        var lin = new Linear(5, 3, rng);
        Assert.Equal([3, 5], lin.Weight.Shape.ToArray());
        Assert.Equal([3], lin.Bias!.Shape.ToArray());
        Assert.Equal(["weight", "bias"], lin.NamedParameters().Select(p => p.Key));
        Assert.Equal(18, lin.ParameterCount);
        float bound = 1f / MathF.Sqrt(5);
        Assert.All(lin.Weight.ToArray().Concat(lin.Bias.ToArray()), v => Assert.InRange(v, -bound, bound));
        Assert.True(lin.Weight.RequiresGrad && lin.Bias.RequiresGrad);

        var x = Random(rng, 2, 5);
        var y = lin.Forward(x);
        Assert.Equal([2, 3], y.Shape.ToArray());
        for (int r = 0; r < 2; r++)
            for (int o = 0; o < 3; o++)
            {
                double expect = lin.Bias.Span[o];
                for (int i = 0; i < 5; i++) expect += x.Span[r * 5 + i] * lin.Weight.Span[o * 5 + i];
                Assert.Equal(expect, y.Span[r * 3 + o], 1e-5);
            }
        Assert.Null(new Linear(5, 3, rng, bias: false).Bias);
    }

    [Fact]
    public void Mlp_NamesNestLikeStateDict()
    {
        var mlp = new Mlp([4, 8, 8, 2], Functional.Activation.Relu, new Rng(2));
        Assert.Equal(
            ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias"],
            mlp.StateDict().Keys);
        Assert.Equal(4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2, mlp.ParameterCount);
        Assert.Equal([3, 2], mlp.Forward(Tensor.Zeros(3, 4)).Shape.ToArray());
    }

    [Fact]
    public void StateDict_RoundTripCopiesValuesAndKeepsParameterObjects()
    {
        var a = new Mlp([3, 5, 2], Functional.Activation.Tanh, new Rng(3));
        var b = new Mlp([3, 5, 2], Functional.Activation.Tanh, new Rng(4));
        var x = Random(new Rng(5), 4, 3);
        Assert.NotEqual(a.Forward(x).ToArray(), b.Forward(x).ToArray());
        var bParams = b.Parameters().ToArray();
        var result = b.LoadStateDict(a.StateDict());
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x).ToArray());
        Assert.Equal(bParams, b.Parameters().ToArray());   // same objects, new values
        Assert.NotSame(a.Layers[0].Weight, b.Layers[0].Weight);
    }

    [Fact]
    public void LoadStateDict_StrictErrorsNameTheKeyAndChangeNothing()
    {
        var m = new Mlp([3, 4, 2], Functional.Activation.Relu, new Rng(6));
        var before = m.Layers[0].Weight.ToArray();
        var other = new Mlp([3, 4, 2], Functional.Activation.Relu, new Rng(7)).StateDict();

        var missing = new Dictionary<string, Tensor>(other);
        missing.Remove("layers.1.bias");
        var e1 = Assert.Throws<InvalidOperationException>(() => m.LoadStateDict(missing));
        Assert.Contains("missing", e1.Message);
        Assert.Contains("'layers.1.bias'", e1.Message);

        var extra = new Dictionary<string, Tensor>(other) { ["layers.2.weight"] = Tensor.Zeros(2, 2) };
        var e2 = Assert.Throws<InvalidOperationException>(() => m.LoadStateDict(extra));
        Assert.Contains("unexpected", e2.Message);
        Assert.Contains("'layers.2.weight'", e2.Message);

        var wrongShape = new Dictionary<string, Tensor>(other) { ["layers.0.weight"] = Tensor.Zeros(3, 4) };
        var e3 = Assert.Throws<InvalidOperationException>(() => m.LoadStateDict(wrongShape));
        Assert.Contains("'layers.0.weight'", e3.Message);
        Assert.Contains("[3, 4]", e3.Message);
        Assert.Contains("[4, 3]", e3.Message);
        // A size mismatch fails even when not strict (as in PyTorch).
        Assert.Throws<InvalidOperationException>(() => m.LoadStateDict(wrongShape, strict: false));

        Assert.Equal(before, m.Layers[0].Weight.ToArray());

        var lax = m.LoadStateDict(missing, strict: false);
        Assert.Equal(["layers.1.bias"], lax.MissingKeys);
        Assert.Equal(other["layers.0.weight"].ToArray(), m.Layers[0].Weight.ToArray());
        var lax2 = m.LoadStateDict(extra, strict: false);
        Assert.Equal(["layers.2.weight"], lax2.UnexpectedKeys);
    }

    [Fact]
    public void TrainEval_PropagatesAndControlsDropout()
    {
        var mlp = new Mlp([6, 32, 6], Functional.Activation.Relu, new Rng(8), dropout: 0.5f);
        Assert.True(mlp.IsTraining && mlp.Layers.IsTraining && mlp.Layers[1].IsTraining);
        mlp.Eval();
        Assert.False(mlp.IsTraining || mlp.Layers.IsTraining || mlp.Layers[0].IsTraining);
        var x = Random(new Rng(9), 4, 6);
        var e1 = mlp.Forward(x).ToArray();
        Assert.Equal(e1, mlp.Forward(x).ToArray());  // no dropout in eval
        mlp.Train();
        Assert.True(mlp.Layers[0].IsTraining);
        Assert.NotEqual(e1, mlp.Forward(x).ToArray());
    }

    [Fact]
    public void RequiresGrad_FreezesAndUnfreezes()
    {
        var lin = new Linear(3, 2, new Rng(10));
        lin.RequiresGrad(false);
        Assert.All(lin.Parameters(), p => Assert.False(p.RequiresGrad));
        var x = Random(new Rng(11), 4, 3);
        x.RequiresGrad = true;
        Functional.Sum(lin.Forward(x)).Backward();
        Assert.Null(lin.Weight.Grad);
        Assert.NotNull(x.Grad);
        lin.RequiresGrad(true);
        Functional.Sum(lin.Forward(x)).Backward();
        Assert.NotNull(lin.Weight.Grad);
        Assert.NotNull(lin.Bias!.Grad);
    }

    sealed class Dup : Module
    {
        public Dup(string second)
        {
            RegisterParameter("w", Tensor.Zeros(1));
            RegisterParameter(second, Tensor.Zeros(1));
        }
    }

    [Fact]
    public void Register_RejectsDuplicateAndDottedNames()
    {
        Assert.Throws<ArgumentException>(() => new Dup("w"));
        Assert.Throws<ArgumentException>(() => new Dup("a.b"));
        Assert.Single(new Dup("v").NamedParameters(), p => p.Key == "v");
    }

    [Fact]
    public void ParametersMadeInsideAScopeLiveOnTheHeap()
    {
        Linear lin;
        float[] values;
        using (TensorScope.Begin())
        {
            lin = new Linear(64, 64, new Rng(12));
            values = lin.Weight.ToArray();
        }
        using (TensorScope.Begin())
        {
            // Rent pooled buffers of the same size and scribble on them: the weight must not be one of them.
            for (int i = 0; i < 4; i++) Tensor.Full(123f, 64, 64);
        }
        Assert.Equal(values, lin.Weight.ToArray());
    }

    [Fact]
    public void Norms_AndEmbedding_HaveNamesShapesAndInit()
    {
        var ln = new LayerNorm(6);
        Assert.Equal(["weight", "bias"], ln.StateDict().Keys);
        Assert.All(ln.Weight.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(ln.Bias.ToArray(), v => Assert.Equal(0f, v));
        var y = ln.Forward(Random(new Rng(13), 2, 6));
        Assert.Equal(0f, y.ToArray().Take(6).Sum(), 1e-4);

        var rms = new RmsNorm(6);
        Assert.Equal(["weight"], rms.StateDict().Keys);
        Assert.Equal(1e-6f, rms.Eps);
        Assert.Equal([2, 6], rms.Forward(Random(new Rng(14), 2, 6)).Shape.ToArray());

        var emb = new Embedding(10, 4, new Rng(15));
        Assert.Equal([10, 4], emb.Weight.Shape.ToArray());
        var e = emb.Forward([3, 7, 3], 1, 3);
        Assert.Equal([1, 3, 4], e.Shape.ToArray());
        Assert.Equal(emb.Weight.Span.Slice(7 * 4, 4).ToArray(), e.Span.Slice(4, 4).ToArray());
    }

    [Fact]
    public void Init_BoundsGainsAndStatistics()
    {
        Assert.Equal(5.0 / 3.0, Init.Gain(Nonlinearity.Tanh), 12);
        Assert.Equal(Math.Sqrt(2), Init.Gain(Nonlinearity.Relu), 12);
        Assert.Equal(Math.Sqrt(2 / (1 + 0.2 * 0.2)), Init.Gain(Nonlinearity.LeakyRelu, 0.2), 12);
        Assert.Equal(1.0, Init.Gain(Nonlinearity.Linear));
        var conv = Tensor.Zeros(8, 3, 5, 5);
        Assert.Equal((75, 200), Init.Fans(conv));

        var rng = new Rng(16);
        var w = Tensor.Zeros(200, 300);
        Init.XavierUniform(w, rng);
        float xb = MathF.Sqrt(6f / 500f);
        Assert.All(w.ToArray(), v => Assert.InRange(v, -xb, xb));

        // Kaiming uniform, relu, fan_in 300: bound √2·√3/√300; fan_out 200 for the normal's std.
        Init.KaimingUniform(w, rng, nonlinearity: Nonlinearity.Relu);
        float kb = MathF.Sqrt(6f / 300f);
        Assert.All(w.ToArray(), v => Assert.InRange(v, -kb, kb));
        Assert.True(w.ToArray().Max() > 0.95f * kb);
        Init.KaimingNormal(w, rng, mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        Assert.InRange(Std(w.ToArray()) / Math.Sqrt(2.0 / 200), 0.98, 1.02);
        Init.XavierNormal(w, rng, gain: 2);
        Assert.InRange(Std(w.ToArray()) / (2 * Math.Sqrt(2.0 / 500)), 0.98, 1.02);

        Init.TruncatedNormal(w, rng, mean: 1f, std: 2f, a: 0f, b: 3f);
        Assert.All(w.ToArray(), v => Assert.InRange(v, 0f, 3f));
        Init.Ones(w);
        Assert.All(w.ToArray(), v => Assert.Equal(1f, v));
    }

    static double Std(float[] v)
    {
        double mean = v.Average(x => (double)x);
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
    }

    [Fact]
    public void Lstm_HasPyTorchNamesShapesAndInit()
    {
        var lstm = new Lstm(3, 4, new Rng(17), numLayers: 2, bidirectional: true);
        var names = lstm.NamedParameters().Select(p => (p.Key, Tensor.Format(p.Value.Shape))).ToArray();
        Assert.Equal(new[]
        {
            ("weight_ih_l0", "[16, 3]"), ("weight_hh_l0", "[16, 4]"), ("bias_ih_l0", "[16]"), ("bias_hh_l0", "[16]"),
            ("weight_ih_l0_reverse", "[16, 3]"), ("weight_hh_l0_reverse", "[16, 4]"), ("bias_ih_l0_reverse", "[16]"), ("bias_hh_l0_reverse", "[16]"),
            ("weight_ih_l1", "[16, 8]"), ("weight_hh_l1", "[16, 4]"), ("bias_ih_l1", "[16]"), ("bias_hh_l1", "[16]"),
            ("weight_ih_l1_reverse", "[16, 8]"), ("weight_hh_l1_reverse", "[16, 4]"), ("bias_ih_l1_reverse", "[16]"), ("bias_hh_l1_reverse", "[16]"),
        }, names);
        Assert.All(lstm.Parameters().SelectMany(p => p.ToArray()), v => Assert.InRange(v, -0.5f, 0.5f));
        Assert.Equal([2, 5, 8], lstm.Forward(Tensor.Zeros(2, 5, 3)).Shape.ToArray());
        Assert.Equal([2, 5, 4], new Lstm(3, 4, new Rng(18)).Forward(Tensor.Zeros(2, 5, 3)).Shape.ToArray());
        Assert.Equal(["weight_ih_l0", "weight_hh_l0"], new Lstm(3, 4, new Rng(18), bias: false).StateDict().Keys);
        Assert.Throws<ShapeMismatchException>(() => lstm.Forward(Tensor.Zeros(2, 5, 4)));
    }

    /// <summary>Naive double-precision LSTM (PyTorch equations, gate order i, f, g, o), batch-first, one direction.</summary>
    static double[,,] ReferenceLstm(double[,,] x, float[] wih, float[] whh, float[] bih, float[] bhh, int hidden, bool reverse)
    {
        int bsz = x.GetLength(0), steps = x.GetLength(1), inF = x.GetLength(2);
        var y = new double[bsz, steps, hidden];
        for (int b = 0; b < bsz; b++)
        {
            var h = new double[hidden]; var c = new double[hidden];
            for (int s = 0; s < steps; s++)
            {
                int t = reverse ? steps - 1 - s : s;
                var gates = new double[4 * hidden];
                for (int k = 0; k < 4 * hidden; k++)
                {
                    double v = bih[k] + bhh[k];
                    for (int i = 0; i < inF; i++) v += wih[k * inF + i] * x[b, t, i];
                    for (int j = 0; j < hidden; j++) v += whh[k * hidden + j] * h[j];
                    gates[k] = v;
                }
                for (int j = 0; j < hidden; j++)
                {
                    double ig = 1 / (1 + Math.Exp(-gates[j])), fg = 1 / (1 + Math.Exp(-gates[hidden + j]));
                    double gg = Math.Tanh(gates[2 * hidden + j]), og = 1 / (1 + Math.Exp(-gates[3 * hidden + j]));
                    c[j] = fg * c[j] + ig * gg;
                    h[j] = og * Math.Tanh(c[j]);
                    y[b, t, j] = h[j];
                }
            }
        }
        return y;
    }

    [Fact]
    public void Lstm_MatchesReferenceEquations_TwoLayersBidirectional()
    {
        const int B = 2, T = 4, I = 3, H = 5;
        var lstm = new Lstm(I, H, new Rng(19), numLayers: 2, bidirectional: true);
        var x = Random(new Rng(20), B, T, I);
        var sd = lstm.StateDict();
        var input = new double[B, T, I];
        for (int b = 0; b < B; b++) for (int t = 0; t < T; t++) for (int i = 0; i < I; i++) input[b, t, i] = x.Span[(b * T + t) * I + i];
        for (int layer = 0; layer < 2; layer++)
        {
            var outs = new[] { "", "_reverse" }.Select((sfx, dir) => ReferenceLstm(input,
                sd[$"weight_ih_l{layer}{sfx}"].ToArray(), sd[$"weight_hh_l{layer}{sfx}"].ToArray(),
                sd[$"bias_ih_l{layer}{sfx}"].ToArray(), sd[$"bias_hh_l{layer}{sfx}"].ToArray(), H, reverse: dir == 1)).ToArray();
            input = new double[B, T, 2 * H];   // [forward | reverse] on the last dimension
            for (int b = 0; b < B; b++) for (int t = 0; t < T; t++) for (int j = 0; j < H; j++)
                    { input[b, t, j] = outs[0][b, t, j]; input[b, t, H + j] = outs[1][b, t, j]; }
        }
        var y = lstm.Forward(x);
        for (int b = 0; b < B; b++) for (int t = 0; t < T; t++) for (int j = 0; j < 2 * H; j++)
                    Assert.Equal(input[b, t, j], y.Span[(b * T + t) * 2 * H + j], 1e-5);   // a tolerance: rounding both to 5 places fails on a 1-ulp difference that straddles a rounding boundary
    }

    [Fact]
    public void Lstm_GradientMatchesCentralDifferences()
    {
        const int B = 2, T = 4, I = 3, H = 4;
        var rng = new Rng(21);
        var lstm = new Lstm(I, H, rng, numLayers: 2, bidirectional: true);
        var x = Random(rng, B, T, I);
        x.RequiresGrad = true;
        var proj = Random(rng, B, T, 2 * H);   // loss = Σ output·proj
        Tensor Loss() => Functional.Sum(Functional.Mul(lstm.Forward(x), proj));

        Loss().Backward();
        var w = lstm.StateDict()["weight_hh_l0_reverse"];
        var w2 = lstm.StateDict()["weight_ih_l1"];
        CheckAgainstFiniteDifferences(x, x.Grad!.ToArray(), Loss);
        CheckAgainstFiniteDifferences(w, w.Grad!.ToArray(), Loss);
        CheckAgainstFiniteDifferences(w2, w2.Grad!.ToArray(), Loss);
    }

    static void CheckAgainstFiniteDifferences(Tensor t, float[] analytic, Func<Tensor> loss)
    {
        const float eps = 1e-2f;
        var s = t.Span;
        using var _ = Tape.NoGrad();
        for (int i = 0; i < t.Length; i++)
        {
            float orig = s[i];
            s[i] = orig + eps; double up = loss().Item();
            s[i] = orig - eps; double down = loss().Item();
            s[i] = orig;
            double numeric = (up - down) / (2 * eps);
            double tol = 1e-2 * Math.Max(Math.Abs(numeric), Math.Abs(analytic[i])) + 2e-3;
            Assert.True(Math.Abs(numeric - analytic[i]) <= tol, $"{t} element {i}: analytic {analytic[i]}, numeric {numeric}");
        }
    }
}
