package org.colaedge.common.learning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MergingTest {

    @Test
    void mergeAndUnmergeByHand() {
        INDArray w = Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}});
        INDArray dw = Nd4j.createFromArray(new float[][] {{1, 0}, {0, -1}});
        INDArray merged = Merging.merge(w, dw, 0.5);
        assertThat(merged).isEqualTo(Nd4j.createFromArray(new float[][] {{1.5f, 2}, {3, 3.5f}}));
        assertThat(Merging.unmerge(merged, dw, 0.5)).isEqualTo(w);
        assertThat(w).isEqualTo(Nd4j.createFromArray(new float[][] {{1, 2}, {3, 4}})); // arguments untouched
    }

    @Test
    void mergedWeightRestoresTheBaseBitExactlyAfterManyVersions() {
        INDArray base = Nd4j.rand(DataType.FLOAT, 16, 8);
        MergedWeight m = new MergedWeight(base, 2.0);
        for (int v = 0; v < 50; v++) {
            INDArray delta = Nd4j.rand(DataType.FLOAT, 16, 8).muli(1e-3 * v);
            assertThat(m.apply(delta)).isEqualTo(base.add(delta.mul(2.0)));
        }
        assertThat(m.unmerge()).isEqualTo(base);
        assertThat(m.delta()).isNull();
    }

    @Test
    void collaborationMeansByHand() {
        INDArray a = Nd4j.createFromArray(new float[][] {{2, 0}});
        INDArray b = Nd4j.createFromArray(new float[][] {{0, 4}});
        assertThat(Merging.mean(List.of(a, b))).isEqualTo(Nd4j.createFromArray(new float[][] {{1, 2}}));
        // weights 3:1 (sample counts) -> 0.75 a + 0.25 b
        assertThat(Merging.weightedMean(List.of(a, b), new double[] {300, 100}))
                .isEqualTo(Nd4j.createFromArray(new float[][] {{1.5f, 1}}));
        assertThat(a).isEqualTo(Nd4j.createFromArray(new float[][] {{2, 0}}));
    }

    @Test
    void collaborationRejectsBadInput() {
        INDArray a = Nd4j.zeros(DataType.FLOAT, 2, 2);
        assertThatThrownBy(() -> Merging.mean(List.of())).hasMessageContaining("at least one");
        assertThatThrownBy(() -> Merging.weightedMean(List.of(a, a), new double[] {1})).hasMessageContaining("2 deltas but 1 weights");
        assertThatThrownBy(() -> Merging.weightedMean(List.of(a, a), new double[] {0, 0})).hasMessageContaining("sum to zero");
        assertThatThrownBy(() -> Merging.weightedMean(List.of(a, a), new double[] {1, -1})).hasMessageContaining("non-negative");
        assertThatThrownBy(() -> Merging.mean(List.of(a, Nd4j.zeros(DataType.FLOAT, 3, 2)))).hasMessageContaining("shape mismatch");
    }
}
