using SoftPrompt.Models.Architectures;
using SoftPrompt.Models.Generation;
using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using SoftPrompt.Tensors.Autograd;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Tuning.Methods.PrefixTuning;

/// <summary>
/// PEFT's layout of a prefix: one matrix [N, L·2·W] whose row t holds, for layer l, the keys at
/// columns (2l)·W.. and the values at (2l+1)·W.. — i.e. W[t, ((2l + {0 K, 1 V})·H + h)·hd + d] with
/// W = H·hd over the key/value heads (num_key_value_heads under grouped-query attention).
/// </summary>
public static class PrefixLayout
{
    /// <summary>Key/value width W of the model: key/value heads × head dim.</summary>
    public static int Width(ICausalLanguageModel model) => model.Config.KvHeads * model.Config.HeadDim;

    /// <summary>prefix: [N, L·2·W] -> the per-layer keys and values [N, W] (slices keep the graph).</summary>
    public static KvPrefix Split(Tensor prefix, int layers, int width)
    {
        if (prefix.Rank != 2 || prefix.Shape[1] != layers * 2 * width)
            throw new ShapeMismatchException($"Prefix: {Tensor.Format(prefix.Shape)} is not [N, {layers}·2·{width}] for {layers} layers of key/value width {width}.");
        var keys = new Tensor[layers];
        var values = new Tensor[layers];
        for (int l = 0; l < layers; l++)
        {
            keys[l] = F.Slice(prefix, 1, 2 * l * width, width);
            values[l] = F.Slice(prefix, 1, (2 * l + 1) * width, width);
        }
        return new KvPrefix(keys, values);
    }

    /// <summary>prefix: per-layer keys and values [N, W] -> PEFT's [N, L·2·W] (Split's inverse; in the graph).</summary>
    public static Tensor Join(KvPrefix prefix)
    {
        var columns = new List<Tensor>(2 * prefix.Keys.Count);
        for (int l = 0; l < prefix.Keys.Count; l++) { columns.Add(prefix.Keys[l]); columns.Add(prefix.Values[l]); }
        return F.Concat([.. columns], 1);
    }

    /// <summary>
    /// Li and Liang's initialisation from real words: the frozen model's keys and values of the
    /// text's tokens at every layer, as [N, L·2·W] (tokens repeated or cut to N).
    /// </summary>
    public static Tensor WordActivations(ICausalLanguageModel model, int[] ids, int n)
    {
        if (ids.Length == 0) throw new ArgumentException("Prefix init from words: the text encodes to no tokens.");
        int layers = model.Config.Layers, width = Width(model);
        using var cache = new KvCache(layers);
        using (Tape.NoGrad()) model.Forward(ids, 1, ids.Length, cache);
        var target = Tensor.ZerosOnHeap(n, layers * 2 * width);
        var dst = target.Span;
        for (int l = 0; l < layers; l++)
        {
            var (k, v) = cache.Layer(l);
            for (int t = 0; t < n; t++)
            {
                int src = t % ids.Length;
                k!.Span.Slice(src * width, width).CopyTo(dst.Slice(t * layers * 2 * width + 2 * l * width, width));
                v!.Span.Slice(src * width, width).CopyTo(dst.Slice(t * layers * 2 * width + (2 * l + 1) * width, width));
            }
        }
        return target;
    }
}
