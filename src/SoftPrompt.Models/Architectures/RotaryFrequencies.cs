using SoftPrompt.Models.Config;

namespace SoftPrompt.Models.Architectures;

/// <summary>Rotary inverse frequencies as Hugging Face computes them (float32), with llama3 or linear rope_scaling.</summary>
public static class RotaryFrequencies
{
    public static float[] Compute(ModelConfig c)
    {
        int hd = c.HeadDim;
        var inv = new float[hd / 2];
        for (int i = 0; i < inv.Length; i++) inv[i] = (float)(1.0 / Math.Pow(c.RopeTheta, (float)(2 * i) / hd));
        var s = c.RopeScaling;
        if (s is null || s.Type == "default") return inv;
        if (s.Type == "linear")
        {
            for (int i = 0; i < inv.Length; i++) inv[i] = (float)(inv[i] / s.Factor);
            return inv;
        }
        // llama3: long wavelengths are slowed by `factor`, short ones kept, the band between blended.
        double lo = s.LowFreqFactor ?? 1, hi = s.HighFreqFactor ?? 4, old = s.OriginalMaxPositionEmbeddings ?? 8192;
        double lowWavelen = old / lo, highWavelen = old / hi;
        for (int i = 0; i < inv.Length; i++)
        {
            double f = inv[i], wavelen = 2 * Math.PI / f;
            double scaled = wavelen > lowWavelen ? f / s.Factor : f;
            if (!(wavelen < highWavelen) && !(wavelen > lowWavelen))
            {
                double smooth = (old / wavelen - lo) / (hi - lo);
                scaled = (1 - smooth) * scaled / s.Factor + smooth * scaled;
            }
            inv[i] = (float)scaled;
        }
        return inv;
    }
}
