package org.colaedge.coordinator.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.adapter.ConvGeometry;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.common.learning.Merging;
import org.colaedge.coordinator.model.HiddenGradientEngine.Segment;
import org.colaedge.coordinator.model.HiddenGradientEngine.StepResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/** The explicit hidden-gradient backward pass against SameDiff autodiff, per user, merged and unmerged. */
class HiddenGradientEngineTest {

    private static final double TOL = 1e-5;

    static BaseModel mlpBase() {
        return BaseModel.mlp(new long[] {12}, List.of(16, 10), 5, 3);
    }

    static BaseModel cnnBase() {
        return BaseModel.cnn(new long[] {1, 8, 8}, List.of(3, 4), 5, 4);
    }

    /** Adapters of one kind on every slot, perturbed away from zero initialisation. */
    static Map<String, Adapter> adapters(BaseModel m, AdapterKind denseKind, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, Adapter> out = new LinkedHashMap<>();
        for (Map.Entry<String, LayerSpec> e : m.slots().entrySet()) {
            AdapterSpec spec;
            if (e.getValue() instanceof LayerSpec.Conv2d c) {
                spec = AdapterSpec.convLowRank(e.getKey(), c.inChannels(), c.outChannels(), 2, 1.5f, c.geometry(), seed);
            } else {
                LayerSpec.Dense d = (LayerSpec.Dense) e.getValue();
                spec = switch (denseKind) {
                    case LINEAR -> AdapterSpec.linear(e.getKey(), d.in(), d.out(), true, seed);
                    case LOW_RANK -> AdapterSpec.lowRank(e.getKey(), d.in(), d.out(), 3, 2f, seed);
                    case MLP -> AdapterSpec.mlp(e.getKey(), d.in(), d.out(), List.of(6), seed);
                    case CONV_LOW_RANK -> throw new IllegalArgumentException();
                };
            }
            Adapter a = Adapters.create(spec);
            float[] noise = new float[(int) a.numParams()];
            for (int i = 0; i < noise.length; i++) {
                noise[i] = (float) (rng.nextDouble() - 0.5) * 0.6f;
            }
            a.params().addi(Nd4j.createFromArray(noise).reshape(1, noise.length));
            out.put(e.getKey(), a);
        }
        return out;
    }

    static ModelView unmerged(String id, Map<String, Adapter> adapters) {
        Map<String, SlotView> s = new LinkedHashMap<>();
        adapters.forEach((k, a) -> s.put(k, new SlotView.Unmerged(a)));
        return new ModelView(id, s);
    }

    static ModelView merged(String id, BaseModel m, Map<String, Adapter> adapters) {
        Map<String, SlotView> s = new LinkedHashMap<>();
        adapters.forEach((k, a) -> {
            INDArray db = a.deltaBias();
            INDArray bias = db == null ? m.bias(k) : m.bias(k).add(db.mul(a.spec().scaling()));
            s.put(k, new SlotView.Merged(Merging.merge(m.weight(k), a.deltaWeight(), a.spec().scaling()), bias));
        });
        return new ModelView(id, s);
    }

    static INDArray input(BaseModel m, int n, long seed) {
        long[] shape = new long[m.inputShape().length + 1];
        shape[0] = n;
        System.arraycopy(m.inputShape(), 0, shape, 1, m.inputShape().length);
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    static INDArray labels(BaseModel m, int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, m.classes());
        for (int i = 0; i < n; i++) {
            y.putScalar(i, rng.nextInt((int) m.classes()), 1f);
        }
        return y;
    }

    static double rel(INDArray actual, INDArray expected) {
        double ref = expected.amaxNumber().doubleValue();
        return actual.sub(expected).amaxNumber().doubleValue() / Math.max(ref, 1e-12);
    }

    @ParameterizedTest
    @EnumSource(value = AdapterKind.class, names = {"LINEAR", "LOW_RANK", "MLP"})
    void denseBaseHiddenGradientsEqualAutodiff(AdapterKind kind) {
        checkAgainstAutodiff(mlpBase(), kind);
    }

    @Test
    void cnnBaseHiddenGradientsEqualAutodiff() {
        checkAgainstAutodiff(cnnBase(), AdapterKind.LOW_RANK);
    }

    private void checkAgainstAutodiff(BaseModel m, AdapterKind kind) {
        Map<String, Adapter> adapters = adapters(m, kind, 7);
        INDArray x = input(m, 9, 1);
        INDArray y = labels(m, 9, 2);
        StepResult r = new HiddenGradientEngine(m).compute(x, y, List.of(new Segment(9, unmerged("u", adapters))));
        AutodiffGraph.Gradients ref = new AutodiffGraph(m, adapters, AutodiffGraph.Trainable.ADAPTERS).gradients(x, y);
        assertThat(r.meanLoss()).isCloseTo(ref.loss(), org.assertj.core.api.Assertions.within(1e-5));
        Map<String, HiddenGradient> hidden = r.segments().get(0).hidden();
        assertThat(hidden.keySet()).isEqualTo(adapters.keySet());
        for (Adapter a : adapters.values()) {
            HiddenGradient hg = hidden.get(a.layer());
            assertThat(rel(hg.gradient(), ref.hiddenGradients().get(a.layer()))).as("delta of " + a.layer()).isLessThan(TOL);
            // Proposition 1 through the engine: gradient learning from (x_m, delta_m) = autodiff dL/dw.
            assertThat(rel(a.gradient(hg.input(), hg.gradient()), ref.parameterGradients().get(a.layer())))
                    .as("GL gradient of " + a.layer()).isLessThan(TOL);
        }
    }

    @ParameterizedTest
    @EnumSource(value = AdapterKind.class, names = {"LINEAR", "LOW_RANK"})
    void mergedEqualsUnmerged(AdapterKind kind) {
        for (BaseModel m : List.of(mlpBase(), cnnBase())) {
            Map<String, Adapter> adapters = adapters(m, kind, 11);
            INDArray x = input(m, 6, 3);
            INDArray y = labels(m, 6, 4);
            HiddenGradientEngine engine = new HiddenGradientEngine(m);
            StepResult u = engine.compute(x, y, List.of(new Segment(6, unmerged("u", adapters))));
            StepResult mg = engine.compute(x, y, List.of(new Segment(6, merged("m", m, adapters))));
            assertThat(rel(mg.logits(), u.logits())).isLessThan(TOL);
            for (String slot : adapters.keySet()) {
                assertThat(rel(mg.segments().get(0).hidden().get(slot).gradient(), u.segments().get(0).hidden().get(slot).gradient()))
                        .as(m.name() + " " + slot).isLessThan(TOL);
            }
        }
    }

    @Test
    void mixedUsersInOneBatchGetWhatTheyWouldGetAlone() {
        BaseModel m = mlpBase();
        ModelView a = unmerged("alice", adapters(m, AdapterKind.LOW_RANK, 1));
        ModelView b = unmerged("bob", adapters(m, AdapterKind.MLP, 2));
        ModelView c = merged("carol", m, adapters(m, AdapterKind.LINEAR, 3));
        Map<String, Adapter> topOnly = new LinkedHashMap<>();
        topOnly.put("fc3", adapters(m, AdapterKind.LINEAR, 4).get("fc3"));
        ModelView d = unmerged("dave", topOnly);
        List<ModelView> views = List.of(a, b, c, d, ModelView.base());
        int[] rows = {3, 5, 2, 4, 1};
        int n = 15;
        INDArray x = input(m, n, 5);
        INDArray y = labels(m, n, 6);
        HiddenGradientEngine engine = new HiddenGradientEngine(m);
        List<Segment> segments = new ArrayList<>();
        for (int u = 0; u < views.size(); u++) {
            segments.add(new Segment(rows[u], views.get(u)));
        }
        StepResult mixed = engine.compute(x, y, segments);
        int first = 0;
        for (int u = 0; u < views.size(); u++) {
            INDArray xu = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(first, first + rows[u]));
            INDArray yu = y.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(first, first + rows[u]));
            StepResult alone = new HiddenGradientEngine(m).compute(xu, yu, List.of(new Segment(rows[u], views.get(u))));
            var seg = mixed.segments().get(u);
            assertThat(seg.viewId()).isEqualTo(views.get(u).id());
            assertThat(seg.loss()).isCloseTo(alone.meanLoss(), org.assertj.core.api.Assertions.within(1e-5));
            assertThat(seg.hidden().keySet()).isEqualTo(views.get(u).slots().keySet());
            for (String slot : seg.hidden().keySet()) {
                HiddenGradient mine = seg.hidden().get(slot);
                HiddenGradient ref = alone.segments().get(0).hidden().get(slot);
                assertThat(mine.input().shape()).isEqualTo(ref.input().shape());
                assertThat(rel(mine.input(), ref.input())).isLessThan(TOL);
                assertThat(rel(mine.gradient(), ref.gradient())).as(views.get(u).id() + " " + slot).isLessThan(TOL);
            }
            first += rows[u];
        }
    }

    @Test
    void collaborationGroupSharesOneMergedViewAndSplitsResultsPerUser() {
        BaseModel m = cnnBase();
        ModelView shared = merged("group", m, adapters(m, AdapterKind.LOW_RANK, 8));
        INDArray x = input(m, 7, 9);
        INDArray y = labels(m, 7, 10);
        HiddenGradientEngine engine = new HiddenGradientEngine(m);
        StepResult r = engine.compute(x, y, List.of(new Segment(4, shared), new Segment(3, shared)));
        StepResult second = new HiddenGradientEngine(m).compute(
                x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(4, 7)), y.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(4, 7)),
                List.of(new Segment(3, shared)));
        for (String slot : shared.slots().keySet()) {
            assertThat(r.segments().get(1).hidden().get(slot).gradient().shape()[0]).isEqualTo(3);
            assertThat(rel(r.segments().get(1).hidden().get(slot).gradient(), second.segments().get(0).hidden().get(slot).gradient()))
                    .isLessThan(TOL);
        }
    }

    /** Records the op types a SameDiff execution runs. */
    static final class OpRecorder extends BaseListener {
        final List<String> ops = new ArrayList<>();

        @Override
        public boolean isActive(Operation operation) {
            return true;
        }

        @Override
        public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext ctx, INDArray[] outputs) {
            ops.add(op.getOp().opName());
        }
    }

    @Test
    void theEngineRunsNoWeightGradientOpWhereAutodiffRunsOnePerLayer() {
        BaseModel m = cnnBase();
        Map<String, Adapter> adapters = adapters(m, AdapterKind.LOW_RANK, 12);
        INDArray x = input(m, 4, 13);
        INDArray y = labels(m, 4, 14);
        HiddenGradientEngine engine = new HiddenGradientEngine(m);
        List<Segment> segs = List.of(new Segment(4, unmerged("u", adapters)));
        OpRecorder engineOps = new OpRecorder();
        engine.graphFor(segs).addListeners(engineOps);
        engine.compute(x, y, segs);
        // Hidden-gradient backward: matmul (delta W^T), deconv2d (transposed conv), maxpool2d_bp, relu masks.
        assertThat(engineOps.ops).contains("deconv2d", "maxpool2d_bp", "matmul");
        assertThat(engineOps.ops).noneMatch(op -> op.endsWith("_bp") && !op.equals("maxpool2d_bp"));
        assertThat(engineOps.ops).doesNotContain("conv2d_bp", "matmul_bp", "biasadd_bp");

        OpRecorder autodiffOps = new OpRecorder();
        AutodiffGraph peft = new AutodiffGraph(m, adapters, AutodiffGraph.Trainable.ADAPTERS);
        java.lang.reflect.Field f;
        try {
            f = AutodiffGraph.class.getDeclaredField("sd");
            f.setAccessible(true);
            ((SameDiff) f.get(peft)).addListeners(autodiffOps);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
        peft.gradients(x, y);
        // Autodiff back-propagates through conv2d_bp / matmul_bp, which emit the frozen weights' gradients too.
        assertThat(autodiffOps.ops).contains("conv2d_bp");
        assertThat(autodiffOps.ops.stream().filter(op -> op.equals("conv2d_bp")).count())
                .as("one conv2d_bp per base conv and per adapter conv").isGreaterThanOrEqualTo(4);
    }

    @Test
    void lossStaysFiniteWhenClassProbabilitiesUnderflow() {
        BaseModel m = mlpBase();
        INDArray x = input(m, 4, 21).muli(1e4f); // logits in the thousands: softmax underflows to exactly 0
        INDArray y = labels(m, 4, 22);
        StepResult r = new HiddenGradientEngine(m).compute(x, y, List.of(new Segment(4, unmerged("u", adapters(m, AdapterKind.LINEAR, 3)))));
        assertThat(Double.isFinite(r.meanLoss())).as("loss " + r.meanLoss()).isTrue();
        assertThat(r.meanLoss()).isGreaterThan(0);
        for (HiddenGradient hg : r.segments().get(0).hidden().values()) {
            assertThat(org.colaedge.common.NdArrays.allFinite(hg.gradient())).isTrue();
        }
    }

    @Test
    void badInputIsRejectedWithAClearMessage() {
        BaseModel m = mlpBase();
        HiddenGradientEngine engine = new HiddenGradientEngine(m);
        ModelView v = unmerged("u", adapters(m, AdapterKind.LINEAR, 1));
        assertThatThrownBy(() -> engine.compute(Nd4j.zeros(DataType.FLOAT, 4, 13), labels(m, 4, 1), List.of(new Segment(4, v))))
                .hasMessageContaining("input must have shape [4, 12]");
        assertThatThrownBy(() -> engine.compute(input(m, 4, 1), labels(m, 4, 1), List.of(new Segment(3, v))))
                .hasMessageContaining("segments must cover the 4 rows");
        Adapter wrong = Adapters.create(AdapterSpec.lowRank("fc1", 13, 16, 2, 1f, 1));
        ModelView bad = new ModelView("bad", Map.of("fc1", new SlotView.Unmerged(wrong)));
        assertThatThrownBy(() -> engine.compute(input(m, 4, 1), labels(m, 4, 1), List.of(new Segment(4, bad))))
                .hasMessageContaining("does not fit layer fc1");
        ModelView unknown = new ModelView("bad", Map.of("fc9", new SlotView.Unmerged(wrong)));
        assertThatThrownBy(() -> engine.compute(input(m, 4, 1), labels(m, 4, 1), List.of(new Segment(4, unknown))))
                .hasMessageContaining("has no layer 'fc9'");
        Adapter conv = Adapters.create(AdapterSpec.convLowRank("fc1", 12, 16, 2, 1f, ConvGeometry.square(1, 1, 0), 1));
        ModelView convOnDense = new ModelView("bad", Map.of("fc1", new SlotView.Unmerged(conv)));
        assertThatThrownBy(() -> engine.compute(input(m, 4, 1), labels(m, 4, 1), List.of(new Segment(4, convOnDense))))
                .hasMessageContaining("does not fit layer fc1");
    }
}
