package org.colaedge.common.data;

import java.util.SplittableRandom;

/**
 * Seeded random draws for splits and partitions, reproducible across machines: everything derives
 * from {@link SplittableRandom} (whose SplitMix64 sequence is specified) through
 * {@link StrictMath}, so the same seed gives the same split on every JVM and CPU.
 */
final class Sampling {

    private Sampling() {
    }

    /** Fisher-Yates shuffle in place. */
    static void shuffle(int[] a, SplittableRandom rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** A standard normal draw (Marsaglia's polar method, one of the pair used). */
    static double normal(SplittableRandom rng) {
        double u;
        double v;
        double s;
        do {
            u = 2 * rng.nextDouble() - 1;
            v = 2 * rng.nextDouble() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        return u * StrictMath.sqrt(-2 * StrictMath.log(s) / s);
    }

    /**
     * The logarithm of a Gamma(shape, 1) draw, by Marsaglia and Tsang (2000), "A simple method for
     * generating gamma variables". For shape < 1 it uses Gamma(a) = Gamma(a + 1) * U^(1/a), in log
     * space, because for small shapes the draw itself underflows to 0 (at shape 0.01,
     * U^(1/a) = U^100).
     */
    static double logGamma(SplittableRandom rng, double shape) {
        if (!(shape > 0) || Double.isInfinite(shape)) {
            throw new IllegalArgumentException("gamma shape must be positive and finite, was " + shape);
        }
        if (shape < 1) {
            double u = 1 - rng.nextDouble(); // in (0, 1]
            return logGamma(rng, shape + 1) + StrictMath.log(u) / shape;
        }
        double d = shape - 1.0 / 3.0;
        double c = 1 / StrictMath.sqrt(9 * d);
        while (true) {
            double x = normal(rng);
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = rng.nextDouble();
            double x2 = x * x;
            if (u < 1 - 0.0331 * x2 * x2
                    || StrictMath.log(u) < 0.5 * x2 + d * (1 - v + StrictMath.log(v))) {
                return StrictMath.log(d * v);
            }
        }
    }

    /** A Gamma(shape, 1) draw (may underflow to 0 for tiny shapes; see {@link #logGamma}). */
    static double gamma(SplittableRandom rng, double shape) {
        return StrictMath.exp(logGamma(rng, shape));
    }

    /** Proportions p_0..p_{k-1} drawn from the symmetric Dirichlet(alpha): p_i = G_i / sum G, G_i ~ Gamma(alpha). */
    static double[] dirichlet(SplittableRandom rng, double alpha, int k) {
        double[] logs = new double[k];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < k; i++) {
            logs[i] = logGamma(rng, alpha);
            max = Math.max(max, logs[i]);
        }
        double sum = 0;
        double[] p = new double[k];
        for (int i = 0; i < k; i++) {
            p[i] = StrictMath.exp(logs[i] - max); // the largest is exactly 1: no underflow of the whole vector
            sum += p[i];
        }
        for (int i = 0; i < k; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
