package org.colaedge.common.adapter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Small cases with answers worked out by hand. */
class AdapterTest {

    @Test
    void namedParametersAreLiveViewsOfTheFlatVector() {
        Adapter a = Adapters.create(AdapterSpec.lowRank("fc", 3, 2, 2, 1f, 1));
        assertThat(a.numParams()).isEqualTo(3 * 2 + 2 * 2);
        a.param("B").assign(Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}}));
        assertThat(a.params().getFloat(0, 6)).isEqualTo(1f);
        assertThat(a.params().getFloat(0, 9)).isEqualTo(4f);
        a.params().putScalar(0, 0, 42f);
        assertThat(a.param("A").getFloat(0, 0)).isEqualTo(42f);
    }

    @Test
    void linearForwardAndGradientByHand() {
        Adapter a = Adapters.create(AdapterSpec.linear("fc", 2, 2, true, 1));
        assertThat(a.params().sumNumber().doubleValue()).isZero(); // zero init
        a.param("W").assign(Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}}));
        a.param("b").assign(Nd4j.createFromArray(0.5f, -0.5f));
        INDArray x = Nd4j.createFromArray(new float[][] {{1, 1}, {2, 0}});
        // x W + b = [[4.5, 5.5], [2.5, 3.5]]
        assertThat(a.forward(x)).isEqualTo(Nd4j.createFromArray(new float[][] {{4.5f, 5.5f}, {2.5f, 3.5f}}));
        INDArray delta = Nd4j.createFromArray(new float[][] {{1, 0}, {0, 2}});
        // dW = x^T delta = [[1, 4], [1, 0]]; db = column sums of delta = [1, 2]
        INDArray g = a.gradient(x, delta);
        assertThat(g).isEqualTo(Nd4j.createFromArray(new float[][] {{1, 4, 1, 0, 1, 2}}));
        assertThat(a.deltaWeight()).isEqualTo(a.param("W"));
        assertThat(a.deltaBias()).isEqualTo(a.param("b"));
    }

    @Test
    void lowRankStartsAsIdentityAndMergesAsScaledProduct() {
        AdapterSpec spec = AdapterSpec.lowRank("fc", 5, 4, 2, 3f, 9);
        Adapter a = Adapters.create(spec);
        INDArray x = Nd4j.rand(DataType.FLOAT, 6, 5);
        assertThat(a.forward(x).amaxNumber().doubleValue()).isZero(); // B = 0
        double bound = 1 / Math.sqrt(5);
        assertThat(a.param("A").amaxNumber().doubleValue()).isLessThanOrEqualTo(bound).isGreaterThan(bound / 3);
        // same seed, same init; other seed, other init
        assertThat(Adapters.create(spec).params()).isEqualTo(a.params());
        assertThat(Adapters.create(AdapterSpec.lowRank("fc", 5, 4, 2, 3f, 10)).params()).isNotEqualTo(a.params());

        a.param("B").assign(Nd4j.rand(DataType.FLOAT, 2, 4));
        INDArray viaMerge = x.mmul(a.deltaWeight()).mul(3f);
        assertThat(a.forward(x).sub(viaMerge).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    @Test
    void lowRankGradientByHand() {
        Adapter a = Adapters.create(AdapterSpec.lowRank("fc", 2, 1, 1, 2f, 1));
        a.param("A").assign(Nd4j.createFromArray(new float[][] {{1}, {2}}));
        a.param("B").assign(Nd4j.createFromArray(new float[][] {{3}}));
        INDArray x = Nd4j.createFromArray(new float[][] {{1, 1}});
        INDArray delta = Nd4j.createFromArray(new float[][] {{0.5f}});
        // u = xA = 3; y = 2*u*B = 18. dB = 2*u*delta = 3; dA = 2*x^T*(delta*B) = 2*[1,1]^T*1.5 = [3, 3]
        assertThat(a.forward(x).getFloat(0, 0)).isEqualTo(18f);
        assertThat(a.gradient(x, delta)).isEqualTo(Nd4j.createFromArray(new float[][] {{3, 3, 3}}));
    }

    @Test
    void mlpStartsAsIdentityAndBackpropagatesThroughRelu() {
        Adapter a = Adapters.create(AdapterSpec.mlp("fc", 2, 1, List.of(2), 3));
        INDArray x = Nd4j.createFromArray(new float[][] {{1, -1}});
        assertThat(a.forward(x).getFloat(0, 0)).isZero(); // last layer zero
        a.param("W0").assign(Nd4j.createFromArray(new float[][] {{1, -1}, {0, 1}}));  // z0 = [1, -2]
        a.param("b0").assign(Nd4j.createFromArray(0f, 0f));
        a.param("W1").assign(Nd4j.createFromArray(new float[][] {{2}, {5}}));
        a.param("b1").assign(Nd4j.createFromArray(1f));
        // h = relu(z0) = [1, 0]; y = 1*2 + 0*5 + 1 = 3
        assertThat(a.forward(x).getFloat(0, 0)).isEqualTo(3f);
        INDArray g = a.gradient(x, Nd4j.createFromArray(new float[][] {{1}}));
        // dW1 = h^T = [1, 0]; db1 = 1; dh = W1^T = [2, 5], masked by relu'(z0) = [1, 0] -> dz0 = [2, 0]
        // dW0 = x^T dz0 = [[2, 0], [-2, 0]]; db0 = [2, 0]
        assertThat(a.param("W0").shape()).containsExactly(2, 2);
        assertThat(g).isEqualTo(Nd4j.createFromArray(new float[][] {{2, 0, -2, 0, 2, 0, 1, 0, 1}}));
        assertThatThrownBy(a::deltaWeight).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("cannot be merged");
    }

    @Test
    void convLowRankOneByOneKernelIsAPerPixelLowRankMap() {
        // With a 1x1 kernel, the conv adapter is a low-rank adapter applied at every pixel.
        Adapter conv = Adapters.create(AdapterSpec.convLowRank("c", 3, 2, 2, 1.5f, ConvGeometry.square(1, 1, 0), 5));
        conv.param("B").assign(Nd4j.rand(DataType.FLOAT, 2, 2));
        Adapter dense = Adapters.create(AdapterSpec.lowRank("d", 3, 2, 2, 1.5f, 5));
        dense.param("A").assign(conv.param("A").reshape(2, 3).transpose());
        dense.param("B").assign(conv.param("B").transpose());
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 5);
        INDArray pixels = x.permute(0, 2, 3, 1).dup('c').reshape(2 * 4 * 5, 3);
        INDArray expected = dense.forward(pixels).reshape(2, 4, 5, 2).permute(0, 3, 1, 2);
        assertThat(conv.forward(x).sub(expected).amaxNumber().doubleValue()).isLessThan(1e-5);
        assertThat(conv.deltaWeight().shape()).containsExactly(2, 3, 1, 1);
    }

    @Test
    void convLowRankGradientMatchesFiniteDifferencesOfTheLinearisedLoss() {
        // g is linear in A for fixed B (and in B for fixed A): <J^T delta, v> = <g(w + v) - g(w), delta> exactly
        // up to the second-order A*B cross term, which vanishes when perturbing one factor at a time.
        Adapter a = Adapters.create(AdapterSpec.convLowRank("c", 2, 3, 2, 0.7f, ConvGeometry.square(3, 2, 1), 11));
        a.param("B").assign(Nd4j.rand(DataType.FLOAT, 3, 2).subi(0.5));
        INDArray x = Nd4j.rand(DataType.FLOAT, 2, 2, 7, 7).subi(0.5);
        INDArray delta = Nd4j.rand(DataType.FLOAT, 2, 3, 4, 4).subi(0.5);
        INDArray g = a.gradient(x, delta);
        for (String p : List.of("A", "B")) {
            INDArray v = Nd4j.rand(DataType.FLOAT, a.param(p).shape()).subi(0.5);
            INDArray before = a.forward(x);
            INDArray saved = a.param(p).dup();
            a.param(p).addi(v);
            double directional = a.forward(x).sub(before).mul(delta).sumNumber().doubleValue();
            a.param(p).assign(saved);
            INDArray gv = g.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(p.equals("A") ? 0 : a.param("A").length(),
                            p.equals("A") ? a.param("A").length() : a.numParams()));
            double predicted = gv.mul(v.reshape(v.length())).sumNumber().doubleValue();
            assertThat(predicted).as("directional derivative along %s", p).isCloseTo(directional, within(1e-4 * Math.abs(directional) + 1e-5));
        }
    }

    @Test
    void wrongShapesAreRejectedNamingTheLayer() {
        Adapter a = Adapters.create(AdapterSpec.linear("fc7", 4, 3, false, 1));
        assertThatThrownBy(() -> a.forward(Nd4j.zeros(DataType.FLOAT, 2, 5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer fc7").hasMessageContaining("[N, 4]");
        assertThatThrownBy(() -> a.gradient(Nd4j.zeros(DataType.FLOAT, 2, 4), Nd4j.zeros(DataType.FLOAT, 3, 3)))
                .hasMessageContaining("delta must have shape [2, 3], was [3, 3]");
        Adapter c = Adapters.create(AdapterSpec.convLowRank("conv2", 2, 4, 1, 1f, ConvGeometry.square(3, 1, 0), 1));
        assertThatThrownBy(() -> c.forward(Nd4j.zeros(DataType.FLOAT, 1, 2, 2, 2))).hasMessageContaining("smaller than the 3x3 kernel");
        assertThatThrownBy(() -> AdapterSpec.lowRank("x", 4, 4, 0, 1f, 1)).hasMessageContaining("rank >= 1");
        assertThatThrownBy(() -> AdapterSpec.mlp("x", 4, 4, List.of(), 1)).hasMessageContaining("hidden widths");
    }
}
