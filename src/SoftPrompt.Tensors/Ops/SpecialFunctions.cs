namespace SoftPrompt.Tensors.Ops;

/// <summary>Scalar special functions .NET lacks.</summary>
public static class SpecialFunctions
{
    /// <summary>
    /// The error function to float precision: a Taylor series near zero (where 1 - erfc would
    /// lose digits) and the Chebyshev-fitted erfc of Numerical Recipes (fractional error &lt; 1.2e-7) elsewhere.
    /// </summary>
    public static float Erf(float x)
    {
        double z = x;
        double az = Math.Abs(z);
        if (az < 0.5)
        {
            // erf z = 2/√π Σ (-1)^n z^(2n+1) / (n!(2n+1))
            double z2 = z * z, term = z, sum = z;
            for (int n = 1; n < 12; n++)
            {
                term *= -z2 / n;
                sum += term / (2 * n + 1);
            }
            return (float)(sum * 1.1283791670955126);
        }
        double t = 1.0 / (1.0 + 0.5 * az);
        double erfc = t * Math.Exp(-az * az - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
            t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return (float)(z >= 0 ? 1.0 - erfc : erfc - 1.0);
    }
}
