package org.colaedge.common.learning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientLearnerTest {

    private static Adapter linear(String layer) {
        return Adapters.create(AdapterSpec.linear(layer, 3, 2, false, 1));
    }

    private static Map<String, HiddenGradient> step(String layer, INDArray x, INDArray delta) {
        return Map.of(layer, new HiddenGradient(x, delta));
    }

    @Test
    void sgdStepIsWMinusLearningRateTimesXTransposeDelta() {
        Adapter a = linear("fc");
        GradientLearner l = new GradientLearner(List.of(a), OptimizerConfig.sgd(0.1), 1);
        INDArray x = Nd4j.createFromArray(new float[][] {{1, 2, 3}});
        INDArray d = Nd4j.createFromArray(new float[][] {{1, -1}});
        assertThat(l.accept(step("fc", x, d))).isTrue();
        // W = -0.1 * x^T d = [[-.1, .1], [-.2, .2], [-.3, .3]]
        assertThat(a.param("W").sub(Nd4j.createFromArray(new float[][] {{-.1f, .1f}, {-.2f, .2f}, {-.3f, .3f}}))
                .amaxNumber().doubleValue()).isLessThan(1e-7);
        assertThat(l.version()).isEqualTo(1);
    }

    @Test
    void intervalBuffersThenFitsOnceOnTheSummedLoss() {
        Adapter a = linear("fc");
        Adapter ref = linear("fc");
        GradientLearner l = new GradientLearner(List.of(a), OptimizerConfig.sgd(0.1), 3);
        INDArray sum = Nd4j.zeros(DataType.FLOAT, 1, a.numParams());
        for (int t = 0; t < 3; t++) {
            INDArray x = Nd4j.rand(DataType.FLOAT, 4, 3);
            INDArray d = Nd4j.rand(DataType.FLOAT, 4, 2);
            sum.addi(ref.gradient(x, d));
            boolean fitted = l.accept(step("fc", x, d));
            assertThat(fitted).isEqualTo(t == 2);
            if (t < 2) {
                assertThat(a.params().amaxNumber().doubleValue()).isZero();
                assertThat(l.bufferedSteps()).isEqualTo(t + 1);
            }
        }
        assertThat(a.params().sub(sum.mul(-0.1)).amaxNumber().doubleValue()).isLessThan(1e-6);
        assertThat(l.version()).isEqualTo(1);
        assertThat(l.bufferedSteps()).isZero();
    }

    @Test
    void badStepsAreRejectedAndLeaveTheLearnerUnchanged() {
        Adapter a = linear("fc");
        GradientLearner l = new GradientLearner(List.of(a), OptimizerConfig.sgd(0.1), 2);
        l.accept(step("fc", Nd4j.ones(DataType.FLOAT, 2, 3), Nd4j.ones(DataType.FLOAT, 2, 2)));
        INDArray nan = Nd4j.ones(DataType.FLOAT, 2, 2);
        nan.putScalar(0, 1, Float.NaN);
        assertThatThrownBy(() -> l.accept(step("fc", Nd4j.ones(DataType.FLOAT, 2, 3), nan)))
                .hasMessageContaining("layer fc").hasMessageContaining("NaN");
        INDArray inf = Nd4j.ones(DataType.FLOAT, 2, 3);
        inf.putScalar(1, 1, Float.POSITIVE_INFINITY);
        assertThatThrownBy(() -> l.accept(step("fc", inf, Nd4j.ones(DataType.FLOAT, 2, 2)))).hasMessageContaining("Inf");
        assertThatThrownBy(() -> l.accept(step("fc", Nd4j.ones(DataType.FLOAT, 2, 3), Nd4j.ones(DataType.FLOAT, 2, 5))))
                .hasMessageContaining("delta must have shape [2, 2]");
        assertThatThrownBy(() -> l.accept(step("fc9", Nd4j.ones(DataType.FLOAT, 2, 3), Nd4j.ones(DataType.FLOAT, 2, 2))))
                .hasMessageContaining("exactly the adapted layers [fc]");
        assertThat(l.bufferedSteps()).isEqualTo(1);
        assertThat(a.params().amaxNumber().doubleValue()).isZero();
        assertThat(l.accept(step("fc", Nd4j.ones(DataType.FLOAT, 2, 3), Nd4j.ones(DataType.FLOAT, 2, 2)))).isTrue();
    }

    @Test
    void clippingScalesTheJointNormOfAllAdapters() {
        INDArray g1 = Nd4j.createFromArray(new float[][] {{3, 0}});
        INDArray g2 = Nd4j.createFromArray(new float[][] {{0, 4}});
        double norm = ParameterOptimizer.clip(List.of(g1, g2), 1.0);
        assertThat(norm).isCloseTo(5.0, within(1e-9));
        assertThat(g1.getDouble(0, 0)).isCloseTo(0.6, within(1e-6));
        assertThat(g2.getDouble(0, 1)).isCloseTo(0.8, within(1e-6));
        INDArray small = Nd4j.createFromArray(new float[][] {{0.1f}});
        ParameterOptimizer.clip(List.of(small), 1.0);
        assertThat(small.getFloat(0, 0)).isEqualTo(0.1f);
    }

    @Test
    void nesterovsAndAdamComeFromDl4jAndKeepState() {
        for (OptimizerConfig cfg : List.of(OptimizerConfig.nesterovs(0.1, 0.9), OptimizerConfig.adam(0.01))) {
            Adapter a = linear("fc");
            GradientLearner l = new GradientLearner(List.of(a), cfg, 1);
            assertThat(l.updaterState("fc")).isNotNull();
            INDArray x = Nd4j.createFromArray(new float[][] {{1, 0, 0}});
            INDArray d = Nd4j.createFromArray(new float[][] {{1, 0}});
            l.accept(step("fc", x, d));
            double first = -a.param("W").getDouble(0, 0);
            l.accept(step("fc", x, d));
            double second = -a.param("W").getDouble(0, 0) - first;
            assertThat(l.updaterState("fc").amaxNumber().doubleValue()).isGreaterThan(0);
            if (cfg.kind() == OptimizerConfig.Kind.ADAM) {
                // Adam's first step is lr * sign(g) (bias-corrected): 0.01.
                assertThat(first).isCloseTo(0.01, within(1e-6));
            } else {
                assertThat(second).as("momentum accelerates the second step").isGreaterThan(first);
            }
        }
    }

    @Test
    void l2WeightDecayVersusDecoupledAdamW() {
        // Zero hidden gradient: only the decay moves the weights.
        INDArray x = Nd4j.createFromArray(new float[][] {{1, 1, 1}});
        INDArray zero = Nd4j.zeros(DataType.FLOAT, 1, 2);
        Adapter sgd = linear("fc");
        sgd.params().assign(1.0);
        new GradientLearner(List.of(sgd), OptimizerConfig.sgd(0.1).withWeightDecay(0.5), 1).accept(step("fc", x, zero));
        assertThat(sgd.params().getDouble(0, 0)).isCloseTo(1 - 0.1 * 0.5, within(1e-6));
        Adapter adamw = linear("fc");
        adamw.params().assign(1.0);
        new GradientLearner(List.of(adamw), OptimizerConfig.adamW(0.1, 0.5), 1).accept(step("fc", x, zero));
        // AdamW: Adam's update of a zero gradient is 0; decay is lr * wd * w = 0.05.
        assertThat(adamw.params().getDouble(0, 0)).isCloseTo(0.95, within(1e-6));
        Adapter adamL2 = linear("fc");
        adamL2.params().assign(1.0);
        new GradientLearner(List.of(adamL2), OptimizerConfig.adam(0.1).withWeightDecay(0.5), 1).accept(step("fc", x, zero));
        // Adam with L2: the penalty becomes the gradient, normalised: first step = lr = 0.1.
        assertThat(adamL2.params().getDouble(0, 0)).isCloseTo(0.9, within(1e-5));
    }

    @Test
    void cosineScheduleAnneals() {
        var s = new LearningRateSchedule.Cosine(100, 0.0).toSchedule(0.2);
        assertThat(s.valueAt(0, 0)).isCloseTo(0.2, within(1e-12));
        assertThat(s.valueAt(50, 0)).isCloseTo(0.1, within(1e-12));
        assertThat(s.valueAt(100, 0)).isCloseTo(0.0, within(1e-12));
        assertThat(s.valueAt(150, 0)).isCloseTo(0.0, within(1e-12));
        Adapter a = linear("fc");
        GradientLearner l = new GradientLearner(List.of(a),
                OptimizerConfig.sgd(0.2).withSchedule(new LearningRateSchedule.Cosine(2, 0.0)), 1);
        INDArray x = Nd4j.createFromArray(new float[][] {{1, 0, 0}});
        INDArray d = Nd4j.createFromArray(new float[][] {{1, 0}});
        l.accept(step("fc", x, d));
        l.accept(step("fc", x, d));
        l.accept(step("fc", x, d));
        // lr = 0.2, 0.1, 0.0
        assertThat(a.param("W").getDouble(0, 0)).isCloseTo(-0.3, within(1e-6));
    }
}
