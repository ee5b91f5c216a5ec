using SoftPrompt.Models.Plans;
using SoftPrompt.Tensors;
using F = SoftPrompt.Tensors.Ops.Functional;

namespace SoftPrompt.Models.Architectures;

/// <summary>
/// Receives every layer's keys and values of one forward pass ([B, T, Hkv·hd] each, the keys as the
/// attention scores them: after any rotary embedding), still in the autograd graph, so that a later
/// pass can attend to them as a key/value prefix and send its gradients back through them.
/// </summary>
public sealed class KeyValueRecorder(int layers)
{
    readonly Tensor?[] _keys = new Tensor?[layers];
    readonly Tensor?[] _values = new Tensor?[layers];

    /// <summary>Called by the architectures once per layer with the pass's new keys and values.</summary>
    public void Record(int layer, Tensor keys, Tensor values) => (_keys[layer], _values[layer]) = (keys, values);

    /// <summary>
    /// The recorded single row as a key/value prefix ([T, W] per layer), after <paramref name="before"/>'s
    /// rows when given (a plan prefix the recorded pass attended to comes first, as it did there).
    /// </summary>
    public KvPrefix ToPrefix(KvPrefix? before = null)
    {
        var keys = new Tensor[_keys.Length];
        var values = new Tensor[_keys.Length];
        for (int l = 0; l < keys.Length; l++)
        {
            if (_keys[l] is not { } k || _values[l] is not { } v)
                throw new InvalidOperationException($"KeyValueRecorder: layer {l} recorded nothing; run the forward pass with the recorder first.");
            if (k.Shape[0] != 1) throw new InvalidOperationException($"KeyValueRecorder: a prefix comes from one row; the pass had {k.Shape[0]}.");
            keys[l] = F.Reshape(k, k.Shape[1], k.Shape[2]);
            values[l] = F.Reshape(v, v.Shape[1], v.Shape[2]);
            if (before is not null)
            {
                keys[l] = F.Concat([before.Keys[l], keys[l]], 0);
                values[l] = F.Concat([before.Values[l], values[l]], 0);
            }
        }
        return new KvPrefix(keys, values);
    }
}
