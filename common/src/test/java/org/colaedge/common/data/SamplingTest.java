package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplingTest {

    @Test
    void gammaDrawsHaveMeanAndVarianceEqualToTheShape() {
        SplittableRandom rng = new SplittableRandom(99);
        int n = 200_000;
        for (double shape : new double[] {0.1, 0.5, 1, 2.5, 10}) {
            double sum = 0;
            double sumSq = 0;
            for (int i = 0; i < n; i++) {
                double g = Sampling.gamma(rng, shape);
                assertThat(g).isGreaterThanOrEqualTo(0);
                sum += g;
                sumSq += g * g;
            }
            double mean = sum / n;
            double variance = sumSq / n - mean * mean;
            // Standard error of the mean is sqrt(shape / n): 5 standard errors, plus slack for the variance.
            assertThat(mean).as("mean of Gamma(%s)", shape).isCloseTo(shape, within(5 * Math.sqrt(shape / n)));
            assertThat(variance).as("variance of Gamma(%s)", shape).isCloseTo(shape, within(0.05 * shape + 0.01));
        }
    }

    @Test
    void normalDrawsAreStandard() {
        SplittableRandom rng = new SplittableRandom(5);
        int n = 200_000;
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < n; i++) {
            double x = Sampling.normal(rng);
            sum += x;
            sumSq += x * x;
        }
        assertThat(sum / n).isCloseTo(0, within(0.015));
        assertThat(sumSq / n).isCloseTo(1, within(0.02));
    }

    @Test
    void dirichletProportionsSumToOneAndTinyAlphasDoNotUnderflow() {
        SplittableRandom rng = new SplittableRandom(3);
        for (double alpha : new double[] {0.001, 0.1, 1, 100}) {
            double[] p = Sampling.dirichlet(rng, alpha, 50);
            assertThat(Arrays.stream(p).sum()).isCloseTo(1.0, within(1e-12));
            assertThat(Arrays.stream(p).boxed()).allMatch(v -> v >= 0 && !Double.isNaN(v));
        }
        // Mean of component i of Dirichlet(alpha,...,alpha) over k components is 1/k.
        double[] mean = new double[4];
        for (int t = 0; t < 20_000; t++) {
            double[] p = Sampling.dirichlet(rng, 0.3, 4);
            for (int i = 0; i < 4; i++) {
                mean[i] += p[i] / 20_000;
            }
        }
        assertThat(Arrays.stream(mean).boxed()).allMatch(m -> Math.abs(m - 0.25) < 0.015);
    }
}
