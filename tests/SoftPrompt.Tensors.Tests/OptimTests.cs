using SoftPrompt.Tensors.Memory;
using SoftPrompt.Tensors.NN;
using SoftPrompt.Tensors.Ops;
using SoftPrompt.Tensors.Optim;

namespace SoftPrompt.Tensors.Tests;

public class OptimTests
{
    static readonly float[][] Grads = [[0.5f, 0.1f], [-0.3f, 0.2f], [0.2f, -0.4f]];

    static Tensor Param(params float[] values)
    {
        var p = Tensor.FromArray(values, values.Length);
        p.RequiresGrad = true;
        return p;
    }

    /// <summary>Sets p.Grad (the setter is internal: tests use the same path as backward).</summary>
    static void SetGrad(Tensor p, float[] g)
    {
        p.ZeroGrad();
        g.CopyTo(p.GradSpanTensor().Span);
    }

    [Fact]
    public void AdamW_MatchesFormulaInDouble()
    {
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
        var p = Param(1f, -2f);
        var opt = new AdamW([p], lr, b1, b2, eps, wd);
        double[] x = [1, -2], m = new double[2], v = new double[2];
        for (int t = 1; t <= Grads.Length; t++)
        {
            SetGrad(p, Grads[t - 1]);
            opt.Step();
            for (int i = 0; i < 2; i++)
            {
                double g = Grads[t - 1][i];
                x[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g;
                v[i] = b2 * v[i] + (1 - b2) * g * g;
                x[i] -= lr / (1 - Math.Pow(b1, t)) * m[i] / (Math.Sqrt(v[i]) / Math.Sqrt(1 - Math.Pow(b2, t)) + eps);
                Assert.Equal(x[i], p.Span[i], 5);
            }
        }
    }

    [Fact]
    public void AdamW_UpdatesALargeParameterInParallelAsInOrder()
    {
        // 100 chunks of 1,024 run as parallel tasks: every element as when each chunk is a parameter of its own
        // (one chunk, one task), weight decay with an offset included.
        const int chunk = 1024, chunks = 100;
        var rng = new Rng(3);
        Tensor Random(int n) { var t = Tensor.ZerosOnHeap(n); rng.FillNormal(t.Span, 0f, 1f); return t; }
        var large = Random(chunk * chunks); large.RequiresGrad = true;
        var offset = Random(chunk * chunks);
        var small = Enumerable.Range(0, chunks).Select(c => { var t = Tensor.FromArray(large.Span.Slice(c * chunk, chunk).ToArray(), chunk); t.RequiresGrad = true; return t; }).ToArray();
        var smallOffsets = Enumerable.Range(0, chunks).Select(c => (Tensor?)Tensor.FromArray(offset.Span.Slice(c * chunk, chunk).ToArray(), chunk)).ToArray();
        var one = new AdamW([new ParamGroup([large], weightDecayOffsets: [offset])], lr: 0.01, weightDecay: 0.1);
        var many = new AdamW([new ParamGroup(small, weightDecayOffsets: smallOffsets)], lr: 0.01, weightDecay: 0.1);
        for (int step = 0; step < 3; step++)
        {
            var g = Random(chunk * chunks);
            SetGrad(large, g.ToArray());
            for (int c = 0; c < chunks; c++) SetGrad(small[c], g.Span.Slice(c * chunk, chunk).ToArray());
            one.Step();
            many.Step();
        }
        Assert.Equal(small.SelectMany(t => t.ToArray()).ToArray(), large.ToArray());
    }

    [Fact]
    public void AdamW_MatchesPyTorch()
    {
        // torch 1.13:  p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        //   opt = torch.optim.AdamW([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
        //   for g in [[0.5, 0.1], [-0.3, 0.2], [0.2, -0.4]]: p.grad = torch.tensor(g); opt.step(); print(p.tolist())
        float[][] torch = [[0.8990000486373901f, -2.0980000495910645f], [0.8789512515068054f, -2.192420244216919f], [0.8433295488357544f, -2.1708483695983887f]];
        var p = Param(1f, -2f);
        var opt = new AdamW([p], lr: 0.1, weightDecay: 0.01);
        for (int t = 0; t < 3; t++)
        {
            SetGrad(p, Grads[t]);
            opt.Step();
            Assert.Equal(torch[t][0], p.Span[0], 6);
            Assert.Equal(torch[t][1], p.Span[1], 6);
        }
    }

    [Fact]
    public void Optimizers_SkipParametersWithoutGradient()
    {
        var a = Param(1f, 2f);
        var b = Param(3f);
        var opt = new AdamW([a, b], lr: 0.1);
        SetGrad(a, [1f, 1f]);
        opt.Step();
        Assert.Null(b.Grad);
        Assert.Equal(3f, b.Span[0]);
        Assert.NotEqual(1f, a.Span[0]);
        var state = opt.StateDict();
        Assert.Equal(1, state.Scalars["state.0.step"]);
        Assert.Equal(0, state.Scalars["state.1.step"]);
    }

    [Fact]
    public void Sgd_MomentumDampeningWeightDecay_MatchesPyTorch()
    {
        // torch 1.13:  opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), same p and grads as AdamW_MatchesPyTorch
        float[][] torch = [[0.9490000009536743f, -2.007999897003174f], [0.9292458891868591f, -2.031392812728882f], [0.8926308751106262f, -2.014618158340454f]];
        var p = Param(1f, -2f);
        var opt = new Sgd([p], lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01);
        for (int t = 0; t < 3; t++)
        {
            SetGrad(p, Grads[t]);
            opt.Step();
            Assert.Equal(torch[t][0], p.Span[0], 6);
            Assert.Equal(torch[t][1], p.Span[1], 6);
        }
    }

    [Fact]
    public void Sgd_Nesterov_MatchesPyTorch()
    {
        // torch 1.13:  opt = torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), same p and grads
        float[][] torch = [[0.9031000137329102f, -2.015199899673462f], [0.9170741438865662f, -2.0558509826660156f], [0.8637211918830872f, -1.9963445663452148f]];
        var p = Param(1f, -2f);
        var opt = new Sgd([p], lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01);
        for (int t = 0; t < 3; t++)
        {
            SetGrad(p, Grads[t]);
            opt.Step();
            Assert.Equal(torch[t][0], p.Span[0], 6);
            Assert.Equal(torch[t][1], p.Span[1], 6);
        }
        Assert.Throws<ArgumentException>(() => new Sgd([Param(1f)], lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd([Param(1f)], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
    }

    [Fact]
    public void Sgd_Plain_IsGradientDescent()
    {
        var p = Param(1f, -2f);
        var opt = new Sgd([p], lr: 0.5);
        SetGrad(p, [0.5f, 0.1f]);
        opt.Step();
        Assert.Equal([0.75f, -2.05f], p.ToArray());
        Assert.Empty(opt.StateDict().Arrays);
    }

    /// <summary>Hugging Face Adafactor transcribed in double precision, for a [rows, cols] (factored) or 1-D parameter.</summary>
    sealed class AdafactorReference(double[] p, int rows, int cols, bool factored, double? beta1, bool scaleParameter, bool relativeStep, bool warmupInit, double lr, double wd)
    {
        const double Eps1 = 1e-30, Eps2 = 1e-3, Clip = 1.0, Decay = -0.8;
        readonly double[] _row = new double[rows], _col = new double[cols], _sq = new double[p.Length], _m = new double[p.Length];
        int _step;

        public double[] Values => p;

        public void Step(float[] grad)
        {
            _step++;
            double rms = Math.Sqrt(p.Sum(x => x * x) / p.Length);
            double rel = relativeStep ? Math.Min(warmupInit ? 1e-6 * _step : 1e-2, 1 / Math.Sqrt(_step)) : lr;
            double alpha = rel * (scaleParameter ? Math.Max(Eps2, rms) : 1);
            double b2t = 1 - Math.Pow(_step, Decay);
            var u = new double[p.Length];
            if (factored)
            {
                for (int r = 0; r < rows; r++)
                {
                    double mean = 0;
                    for (int c = 0; c < cols; c++) mean += (double)grad[r * cols + c] * grad[r * cols + c] + Eps1;
                    _row[r] = b2t * _row[r] + (1 - b2t) * mean / cols;
                }
                for (int c = 0; c < cols; c++)
                {
                    double mean = 0;
                    for (int r = 0; r < rows; r++) mean += (double)grad[r * cols + c] * grad[r * cols + c] + Eps1;
                    _col[c] = b2t * _col[c] + (1 - b2t) * mean / rows;
                }
                double rowMean = _row.Average();
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++)
                        u[r * cols + c] = grad[r * cols + c] / Math.Sqrt(_row[r] / rowMean) / Math.Sqrt(_col[c]);
            }
            else
            {
                for (int i = 0; i < p.Length; i++)
                {
                    _sq[i] = b2t * _sq[i] + (1 - b2t) * ((double)grad[i] * grad[i] + Eps1);
                    u[i] = grad[i] / Math.Sqrt(_sq[i]);
                }
            }
            double rmsU = Math.Sqrt(u.Sum(x => x * x) / u.Length);
            double denom = Math.Max(1, rmsU / Clip);
            for (int i = 0; i < p.Length; i++)
            {
                double ui = u[i] / denom * alpha;
                if (beta1 is { } b1) { _m[i] = b1 * _m[i] + (1 - b1) * ui; ui = _m[i]; }
                if (wd != 0) p[i] += p[i] * (-wd * alpha);
                p[i] -= ui;
            }
        }
    }

    [Theory]
    [InlineData(true, null, true, true, false, 0.0)]
    [InlineData(true, 0.9, true, true, false, 0.0)]
    [InlineData(true, null, false, false, false, 0.1)]
    [InlineData(false, null, true, true, false, 0.0)]
    [InlineData(false, 0.5, true, true, true, 0.01)]
    public void Adafactor_MatchesReference(bool factored, double? beta1, bool scaleParameter, bool relativeStep, bool warmupInit, double wd)
    {
        const int rows = 3, cols = 5;
        var rng = new Rng(30);
        var init = new float[rows * cols];
        rng.FillUniform(init, -1f, 1f);
        var p = factored ? Tensor.FromArray(init, rows, cols) : Tensor.FromArray(init, rows * cols);
        p.RequiresGrad = true;
        double? lr = relativeStep ? null : 0.05;
        var opt = new Adafactor([p], lr, beta1: beta1, weightDecay: wd, scaleParameter: scaleParameter, relativeStep: relativeStep, warmupInit: warmupInit);
        var reference = new AdafactorReference(init.Select(v => (double)v).ToArray(), rows, cols, factored, beta1, scaleParameter, relativeStep, warmupInit, lr ?? 0, wd);
        for (int step = 0; step < 5; step++)
        {
            var g = new float[rows * cols];
            rng.FillUniform(g, -1f, 1f);
            g[3] *= 1e-3f;   // uneven magnitudes exercise the factorisation
            SetGrad(p, g);
            opt.Step();
            reference.Step(g);
            for (int i = 0; i < g.Length; i++)
            {
                double expect = reference.Values[i];
                Assert.True(Math.Abs(p.Span[i] - expect) < 1e-6 + 1e-5 * Math.Abs(expect), $"step {step} element {i}: {p.Span[i]} vs {expect}");
            }
        }
        string[] expectKeys = factored ? ["state.0.exp_avg_sq_row", "state.0.exp_avg_sq_col"] : ["state.0.exp_avg_sq"];
        if (beta1 is not null) expectKeys = [.. expectKeys, "state.0.exp_avg"];
        Assert.Equal(expectKeys.Order(), opt.StateDict().Arrays.Keys.Order());
    }

    [Fact]
    public void Adafactor_FirstStepIsRelativeStepTimesRmsTimesSign()
    {
        // Step 1: β2t = 0, so V = g² + eps1, u = g/|g| = ±1, RMS(u) = 1 (no clipping), α = 0.01·max(1e-3, RMS(p)).
        var p = Param(3f, -4f);   // RMS(p) = √12.5
        var opt = new Adafactor([p]);
        SetGrad(p, [2f, -0.5f]);
        opt.Step();
        double alpha = 0.01 * Math.Sqrt(12.5);
        Assert.Equal(3 - alpha, p.Span[0], 6);
        Assert.Equal(-4 + alpha, p.Span[1], 6);
        Assert.Throws<ArgumentException>(() => new Adafactor([Param(1f)], lr: 1e-3));
        Assert.Throws<ArgumentException>(() => new Adafactor([Param(1f)], relativeStep: false));
    }

    [Fact]
    public void Adafactor_DecreasesAQuadratic()
    {
        // loss = mean((P − A)²) over a [8, 6] matrix
        var rng = new Rng(31);
        var target = Tensor.Zeros(8, 6);
        rng.FillUniform(target.Span, -1f, 1f);
        var p = Tensor.Zeros(8, 6);
        rng.FillUniform(p.Span, -1f, 1f);
        p.RequiresGrad = true;
        var opt = new Adafactor([p], lr: 0.05, relativeStep: false, scaleParameter: false);
        double first = 0, last = 0;
        for (int step = 0; step < 200; step++)
        {
            using var scope = TensorScope.Begin();
            var d = Functional.Sub(p, target);
            var loss = Functional.Mean(Functional.Mul(d, d));
            if (step == 0) first = loss.Item();
            last = loss.Item();
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        Assert.True(last < first * 0.01, $"loss {first} -> {last}");
    }

    [Fact]
    public void Schedules_HaveHuggingFaceValues()
    {
        var linear = LrSchedule.LinearWithWarmup(10, 100);
        Assert.Equal(0.0, linear.Multiplier(0));
        Assert.Equal(0.5, linear.Multiplier(5), 12);
        Assert.Equal(1.0, linear.Multiplier(10), 12);
        Assert.Equal(0.5, linear.Multiplier(55), 12);
        Assert.Equal(0.0, linear.Multiplier(100));
        Assert.Equal(0.0, linear.Multiplier(150));

        var cosine = LrSchedule.CosineWithWarmup(10, 100);
        Assert.Equal(0.3, cosine.Multiplier(3), 12);
        Assert.Equal(1.0, cosine.Multiplier(10), 12);
        Assert.Equal(0.5, cosine.Multiplier(55), 12);
        // HF: 0.5·(1 + cos(π·0.5·2·(32 − 10)/90))
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 22.0 / 90.0)), cosine.Multiplier(32), 12);
        Assert.Equal(0.0, cosine.Multiplier(100), 12);

        var warm = LrSchedule.ConstantWithWarmup(4);
        Assert.Equal([0.0, 0.25, 0.5, 0.75, 1.0, 1.0], Enumerable.Range(0, 6).Select(s => warm.Multiplier(s)));
        Assert.Equal(1.0, LrSchedule.Constant().Multiplier(12345));
        Assert.Equal(1.0, LrSchedule.ConstantWithWarmup(0).Multiplier(0));

        var opt = new Sgd([new ParamGroup([Param(1f)], lr: 0.1), new ParamGroup([Param(1f)], lr: 0.01)], lr: 1.0);
        linear.Apply(opt, 5);
        Assert.Equal(0.05, opt.Groups[0].Lr, 12);
        Assert.Equal(0.005, opt.Groups[1].Lr, 12);
        Assert.Equal(0.1, opt.Groups[0].InitialLr);
    }

    [Fact]
    public void ParamGroups_UseTheirOwnHyperparameters()
    {
        var a = Param(1f);
        var b = Param(1f);
        var opt = new Sgd([new ParamGroup([a]), new ParamGroup([b], lr: 0.5, options: new SgdOptions(Momentum: 0.9))], lr: 0.1);
        for (int i = 0; i < 2; i++)
        {
            SetGrad(a, [1f]); SetGrad(b, [1f]);
            opt.Step();
        }
        Assert.Equal(1f - 0.1f - 0.1f, a.Span[0], 6);
        Assert.Equal(1f - 0.5f - 0.5f * 1.9f, b.Span[0], 6);   // buffer 1, then 0.9 + 1
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([a]), new ParamGroup([a])], lr: 0.1));
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([b], options: new AdamWOptions())], lr: 0.1));
    }

    /// <summary>
    /// A delta Δ on a frozen W with decay offset W follows the full weight W + Δ trained directly: decay shrinks W + Δ, not Δ.
    /// Without the offset the two part after the first step by lr·wd·W.
    /// </summary>
    [Fact]
    public void AdamW_WeightDecayOffsetDecaysTheFullWeight()
    {
        float[] w = [1.5f, -0.75f];
        var full = Param(w);
        var delta = Param(0f, 0f);
        var plainDelta = Param(0f, 0f);
        var offset = Tensor.FromArray(w, 2);
        const double lr = 0.1, wd = 0.3;
        var direct = new AdamW([full], lr: lr, weightDecay: wd);
        var viaOffset = new AdamW([new ParamGroup([delta], weightDecayOffsets: [offset])], lr, weightDecay: wd);
        var plain = new AdamW([plainDelta], lr: lr, weightDecay: wd);
        foreach (var g in Grads)
        {
            SetGrad(full, g); SetGrad(delta, g); SetGrad(plainDelta, g);
            direct.Step(); viaOffset.Step(); plain.Step();
        }
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(full.Span[i], w[i] + delta.Span[i], 5);
            Assert.NotEqual(full.Span[i], w[i] + plainDelta.Span[i], 2);
        }
        Assert.Throws<ArgumentException>(() => new ParamGroup([delta], weightDecayOffsets: [Tensor.FromArray([1f], 1)]));   // shape
        Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([delta], weightDecayOffsets: [offset])], lr: 0.1));   // only AdamW applies offsets
    }

    [Fact]
    public void ClipGradNorm_MatchesPyTorch()
    {
        // torch 1.13: a.grad = [3, 4]; b.grad = [12, 0, 0]; clip_grad_norm_([a, b], 1.0) -> 13.0, a.grad [0.23076921701431274, 0.307692289352417], b.grad[0] 0.923076868057251
        var a = Param(0f, 0f);
        var b = Param(0f, 0f, 0f);
        var frozen = Param(0f);
        SetGrad(a, [3f, 4f]);
        SetGrad(b, [12f, 0f, 0f]);
        Assert.Equal(13f, GradClip.ClipGradNorm([a, frozen, b], 1f));
        Assert.Equal(0.23076921701431274f, a.Grad!.Span[0], 6);
        Assert.Equal(0.307692289352417f, a.Grad.Span[1], 6);
        Assert.Equal(0.923076868057251f, b.Grad!.Span[0], 6);
        // Below the limit nothing changes.
        Assert.Equal(1f, GradClip.ClipGradNorm([a, b], 5f), 1e-5);
        Assert.Equal(0.23076921701431274f, a.Grad.Span[0], 6);
    }

    [Fact]
    public void StateDict_ResumesExactly()
    {
        var rng = new Rng(32);
        Tensor MakeParam() { var t = Tensor.Zeros(4, 3); rng.FillUniform(t.Span, -1f, 1f); t.RequiresGrad = true; return t; }
        foreach (Func<Tensor, Optimizer> make in new Func<Tensor, Optimizer>[]
        {
            p => new AdamW([p], lr: 0.01),
            p => new Sgd([p], lr: 0.1, momentum: 0.9),
            p => new Adafactor([p], beta1: 0.9),
        })
        {
            var p = MakeParam();
            var opt = make(p);
            var grads = Enumerable.Range(0, 6).Select(_ => { var g = new float[12]; rng.FillUniform(g, -1f, 1f); return g; }).ToArray();
            for (int s = 0; s < 3; s++) { SetGrad(p, grads[s]); opt.Step(); }

            var q = Tensor.FromArray(p.Span, 4, 3);
            q.RequiresGrad = true;
            var resumed = make(q);
            resumed.LoadStateDict(opt.StateDict());
            for (int s = 3; s < 6; s++)
            {
                SetGrad(p, grads[s]); opt.Step();
                SetGrad(q, grads[s]); resumed.Step();
            }
            Assert.Equal(p.ToArray(), q.ToArray());

            var broken = opt.StateDict();
            var key = broken.Arrays.Keys.FirstOrDefault() ?? "";
            if (key.Length > 0)
            {
                broken.Arrays.Remove(key);
                var e = Assert.Throws<InvalidOperationException>(() => resumed.LoadStateDict(broken));
                Assert.Contains(key, e.Message);
            }
        }
    }

    [Fact]
    public void Mlp_LearnsXor_WithAdamW()
    {
        var mlp = new Mlp([2, 8, 2], Functional.Activation.Tanh, new Rng(33));
        var opt = new AdamW(mlp.Parameters(), lr: 0.05, weightDecay: 0.0);
        var x = Tensor.FromArray([0f, 0f, 0f, 1f, 1f, 0f, 1f, 1f], 4, 2);
        int[] y = [0, 1, 1, 0];
        float loss = float.NaN;
        for (int step = 0; step < 500 && !(loss < 0.005f); step++)
        {
            using var scope = TensorScope.Begin();
            var l = Functional.CrossEntropy(mlp.Forward(x), y);
            loss = l.Item();
            opt.ZeroGrad();
            l.Backward();
            GradClip.ClipGradNorm(mlp.Parameters(), 5f);
            opt.Step();
        }
        Assert.True(loss < 0.01f, $"XOR loss {loss}");
    }
}
