package org.colaedge.coordinator.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.coordinator.model.BaseModel;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** System-level equivalences between the trainers, on random data. */
class TrainersTest {

    private static final BaseModel MLP = BaseModel.mlp(new long[] {20}, List.of(16, 12), 4, 5);
    private static final OptimizerConfig NESTEROV = OptimizerConfig.nesterovs(0.05, 0.9).withWeightDecay(5e-4);

    private static List<Batch> batches(int steps, int[] rowsPerUser, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Batch> out = new ArrayList<>();
        int n = java.util.Arrays.stream(rowsPerUser).sum();
        for (int s = 0; s < steps; s++) {
            Nd4j.getRandom().setSeed(seed + s);
            INDArray x = Nd4j.randn(DataType.FLOAT, n, 20);
            INDArray y = Nd4j.zeros(DataType.FLOAT, n, 4);
            for (int i = 0; i < n; i++) {
                y.putScalar(i, rng.nextInt(4), 1f);
            }
            List<UserRows> users = new ArrayList<>();
            for (int u = 0; u < rowsPerUser.length; u++) {
                users.add(new UserRows(u, rowsPerUser[u]));
            }
            out.add(new Batch(x, y, users));
        }
        return out;
    }

    private static double maxRel(Map<String, Adapter> a, Map<String, Adapter> b) {
        double diff = 0;
        double ref = 0;
        for (String k : a.keySet()) {
            diff = Math.max(diff, a.get(k).params().sub(b.get(k).params()).amaxNumber().doubleValue());
            ref = Math.max(ref, b.get(k).params().amaxNumber().doubleValue());
        }
        return diff / ref;
    }

    @Test
    void colaAtIntervalOneTracksPeftServerBackpropagation() {
        for (AdapterKind kind : List.of(AdapterKind.LOW_RANK, AdapterKind.LINEAR, AdapterKind.MLP)) {
            AdapterPlan plan = new AdapterPlan(kind, 4, 1f, List.of(8));
            ColaLocalTrainer cola = new ColaLocalTrainer(MLP, plan, 1, Mode.ALONE, false, 1, NESTEROV, 3);
            PeftServerTrainer peft = new PeftServerTrainer(MLP, plan, 1, Mode.ALONE, NESTEROV, 3);
            for (Batch b : batches(30, new int[] {16}, 1)) {
                double lc = cola.step(b);
                double lp = peft.step(b);
                assertThat(lc).isCloseTo(lp, org.assertj.core.api.Assertions.within(1e-4));
            }
            assertThat(maxRel(cola.device(0).adapters(), peft.adapters(0))).as(kind.name()).isLessThan(1e-4);
        }
    }

    @Test
    void mergedAndUnmergedColaFollowTheSameTrajectory() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LOW_RANK, 4, 2f, List.of());
        ColaLocalTrainer unmerged = new ColaLocalTrainer(MLP, plan, 1, Mode.ALONE, false, 2, NESTEROV, 4);
        ColaLocalTrainer merged = new ColaLocalTrainer(MLP, plan, 1, Mode.ALONE, true, 2, NESTEROV, 4);
        for (Batch b : batches(20, new int[] {12}, 2)) {
            unmerged.step(b);
            merged.step(b);
        }
        assertThat(unmerged.device(0).version()).isEqualTo(10);
        assertThat(maxRel(merged.device(0).adapters(), unmerged.device(0).adapters())).isLessThan(1e-4);
    }

    @Test
    void aloneUsersInOneBatchLearnExactlyWhatTheyWouldLearnAlone() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LOW_RANK, 4, 1f, List.of());
        ColaLocalTrainer shared = new ColaLocalTrainer(MLP, plan, 2, Mode.ALONE, false, 1, NESTEROV, 7);
        ColaLocalTrainer alone0 = new ColaLocalTrainer(MLP, plan, 1, Mode.ALONE, false, 1, NESTEROV, 7);
        ColaLocalTrainer alone1 = new ColaLocalTrainer(MLP, plan, 1, Mode.ALONE, false, 1, NESTEROV, 8); // user 1's seed is seed + 1
        for (Batch b : batches(15, new int[] {5, 9}, 3)) {
            shared.step(b);
            alone0.step(new Batch(b.input().get(NDArrayIndex.interval(0, 5)), b.oneHot().get(NDArrayIndex.interval(0, 5)), List.of(new UserRows(0, 5))));
            alone1.step(new Batch(b.input().get(NDArrayIndex.interval(5, 14)), b.oneHot().get(NDArrayIndex.interval(5, 14)), List.of(new UserRows(0, 9))));
        }
        assertThat(maxRel(shared.device(0).adapters(), alone0.device(0).adapters())).isLessThan(1e-5);
        assertThat(maxRel(shared.device(1).adapters(), alone1.device(0).adapters())).isLessThan(1e-5);
    }

    @Test
    void collaborationOfEqualUsersEqualsOneAdapterTrainedOnTheUnion() {
        // With SGD-family updates that are linear in the gradient (no clipping), the sample-weighted mean of the users'
        // dW moves exactly like one adapter trained on everybody's rows: COL = centralized PEFT_SERVER.
        AdapterPlan plan = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
        ColaLocalTrainer col = new ColaLocalTrainer(MLP, plan, 2, Mode.COL, true, 1, NESTEROV, 9);
        PeftServerTrainer central = new PeftServerTrainer(MLP, plan, 2, Mode.COL, NESTEROV, 9);
        INDArray probe = Nd4j.randn(DataType.FLOAT, 32, 20);
        for (Batch b : batches(25, new int[] {8, 8}, 4)) {
            col.step(b);
            central.step(b);
        }
        INDArray a = col.logits(probe, 0);
        INDArray c = central.logits(probe, 0);
        assertThat(a.sub(c).amaxNumber().doubleValue() / c.amaxNumber().doubleValue()).isLessThan(1e-4);
        // ... and it is not what either user alone would have: the users' own adapters differ from the mean.
        assertThat(col.device(0).adapter("fc1").params().sub(col.device(1).adapter("fc1").params()).amaxNumber().doubleValue())
                .isGreaterThan(1e-3);
    }

    @Test
    void trainingActuallyLearnsASeparableProblem() {
        // A teacher-labelled problem: every trainer must drive the loss well below its start.
        INDArray teacher = Nd4j.randn(DataType.FLOAT, 20, 4);
        List<Batch> data = new ArrayList<>();
        for (int s = 0; s < 60; s++) {
            Nd4j.getRandom().setSeed(100 + s);
            INDArray x = Nd4j.randn(DataType.FLOAT, 32, 20);
            INDArray y = Nd4j.zeros(DataType.FLOAT, 32, 4);
            INDArray cls = x.mmul(teacher).argMax(1);
            for (int i = 0; i < 32; i++) {
                y.putScalar(i, cls.getInt(i), 1f);
            }
            data.add(new Batch(x, y, List.of(new UserRows(0, 32))));
        }
        OptimizerConfig opt = OptimizerConfig.nesterovs(0.1, 0.9);
        AdapterPlan plan = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
        for (Trainer t : List.of(new FullTrainer(MLP, opt), new PeftServerTrainer(MLP, plan, 1, Mode.ALONE, opt, 1),
                new ColaLocalTrainer(MLP, plan, 1, Mode.ALONE, true, 1, opt, 1))) {
            double first = t.step(data.get(0));
            double last = 0;
            for (int e = 0; e < 3; e++) {
                for (Batch b : data) {
                    last = t.step(b);
                }
            }
            assertThat(last).as(t.kind().name()).isLessThan(first * 0.5);
        }
    }

    @Test
    void invalidCombinationsAreRefused() {
        AdapterPlan mlp = new AdapterPlan(AdapterKind.MLP, 0, 1f, List.of(8));
        assertThatThrownBy(() -> new ColaLocalTrainer(MLP, mlp, 2, Mode.COL, true, 1, NESTEROV, 1)).hasMessageContaining("cannot be merged");
        assertThatThrownBy(() -> new ColaLocalTrainer(MLP, mlp, 1, Mode.ALONE, true, 1, NESTEROV, 1)).hasMessageContaining("cannot be merged");
        assertThatThrownBy(() -> new AdapterPlan(AdapterKind.CONV_LOW_RANK, 2, 1f, List.of())).hasMessageContaining("conv layers get CONV_LOW_RANK");
    }
}
