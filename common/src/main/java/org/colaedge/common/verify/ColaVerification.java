package org.colaedge.common.verify;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.adapter.ConvGeometry;
import org.colaedge.common.adapter.GraphLayout;
import org.colaedge.common.learning.GradientLearner;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.verify.ReferenceNetwork.Conv;
import org.colaedge.common.verify.ReferenceNetwork.Dense;
import org.colaedge.common.verify.ReferenceNetwork.Layer;
import org.colaedge.common.verify.ReferenceNetwork.Mode;
import org.colaedge.common.verify.ReferenceNetwork.Pass;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The proof that ColA's gradient learning equals back-propagation, for every adapter kind, run
 * against SameDiff autodiff of the whole adapted network (an independent computation):
 *
 * <ol>
 *   <li><b>Proposition 1</b>: the parameter gradient computed only from (x_m, delta_m) equals
 *       dL/dw of full back-propagation, on a frozen 3-layer network with softmax cross-entropy.</li>
 *   <li><b>GL loss</b>: differentiating the literal gradient-learning loss
 *       0.5 ||g(x) - (g(x).detach() - delta)||^2 in SameDiff gives the same gradient as the
 *       analytic J^T delta the devices use.</li>
 *   <li><b>Merged forward</b>: computing with W + alpha dW gives the same loss and hidden
 *       gradients as base + adapter.</li>
 *   <li><b>Trajectories</b>: 100 SGD steps of ColA with I = 1 (unmerged, and merged) track
 *       100 steps of ordinary back-propagation from the same initial values and batches; with
 *       I = 4, ColA equals 4-batch gradient accumulation with the adapter held fixed.</li>
 * </ol>
 *
 * All in float32. Adapter parameters are perturbed away from their identity initialisation
 * (zero B / zero last layer) before the gradient checks, so that no gradient is trivially zero.
 */
public final class ColaVerification {

    /** Tolerance of the single-pass gradient checks (max relative error). */
    public static final double GRADIENT_TOLERANCE = 1e-5;
    /** Tolerance of the 100-step trajectory checks. */
    public static final double TRAJECTORY_TOLERANCE = 1e-4;

    static final int BATCH = 8;
    static final int STEPS = 100;
    static final double LEARNING_RATE = 0.05;

    private final long seed;

    public ColaVerification(long seed) {
        this.seed = seed;
    }

    /** Runs every check for every adapter kind; reports each result as it completes. */
    public List<Check> runAll(Consumer<Check> onResult) {
        List<Check> results = new ArrayList<>();
        Consumer<Check> sink = c -> {
            results.add(c);
            onResult.accept(c);
        };
        for (AdapterKind kind : AdapterKind.values()) {
            runKind(kind, sink);
        }
        return results;
    }

    public void runKind(AdapterKind kind, Consumer<Check> sink) {
        Problem p = new Problem(kind, seed + kind.ordinal() * 1000L);
        sink.accept(proposition1(p));
        sink.accept(glLossAutodiff(p));
        if (kind.mergeable()) {
            sink.accept(mergedForward(p));
        }
        sink.accept(trajectory(p, 1, Mode.UNMERGED));
        if (kind.mergeable()) {
            sink.accept(trajectory(p, 1, Mode.MERGED));
        }
        sink.accept(trajectory(p, 4, Mode.UNMERGED));
    }

    /** Network, adapters and batches for one adapter kind. */
    static final class Problem {
        final AdapterKind kind;
        final long seed;
        final long[] inputShape;
        final List<Layer> layers;
        final List<AdapterSpec> specs;
        final List<INDArray> inputs = new ArrayList<>();
        final List<INDArray> labels = new ArrayList<>();

        Problem(AdapterKind kind, long seed) {
            this.kind = kind;
            this.seed = seed;
            if (kind == AdapterKind.CONV_LOW_RANK) {
                inputShape = new long[] {2, 6, 6};
                ConvGeometry same = ConvGeometry.square(3, 1, 1);
                ConvGeometry down = ConvGeometry.square(3, 2, 1);
                layers = List.of(new Conv("conv1", 2, 4, same), new Conv("conv2", 4, 3, down), new Dense("fc", 27, 5));
                specs = List.of(
                        AdapterSpec.convLowRank("conv1", 2, 4, 2, 1f, same, seed + 1),
                        AdapterSpec.convLowRank("conv2", 4, 3, 2, 0.5f, down, seed + 2));
            } else {
                inputShape = new long[] {12};
                layers = List.of(new Dense("fc1", 12, 16), new Dense("fc2", 16, 10), new Dense("fc3", 10, 5));
                specs = List.of(spec(kind, "fc1", 12, 16, seed + 1), spec(kind, "fc2", 16, 10, seed + 2),
                        spec(kind, "fc3", 10, 5, seed + 3));
            }
            SplittableRandom rng = new SplittableRandom(seed);
            long[] batchShape = new long[inputShape.length + 1];
            batchShape[0] = BATCH;
            System.arraycopy(inputShape, 0, batchShape, 1, inputShape.length);
            for (int t = 0; t < STEPS; t++) {
                inputs.add(ReferenceNetwork.gaussian(rng, batchShape));
                INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, 5);
                for (int i = 0; i < BATCH; i++) {
                    y.putScalar(i, rng.nextInt(5), 1f);
                }
                labels.add(y);
            }
        }

        private static AdapterSpec spec(AdapterKind kind, String layer, long in, long out, long seed) {
            return switch (kind) {
                case LINEAR -> AdapterSpec.linear(layer, in, out, true, seed);
                case LOW_RANK -> AdapterSpec.lowRank(layer, in, out, 3, 2f, seed);
                case MLP -> AdapterSpec.mlp(layer, in, out, List.of(7), seed);
                case CONV_LOW_RANK -> throw new IllegalArgumentException("conv adapters need a conv layer");
            };
        }

        /** Fresh adapters, perturbed away from the identity so every gradient is non-trivial. */
        Map<String, Adapter> adapters() {
            SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
            Map<String, Adapter> out = new LinkedHashMap<>();
            for (AdapterSpec s : specs) {
                Adapter a = Adapters.create(s);
                a.params().addi(org.colaedge.common.NdArrays.uniform(rng, 0.3, 1, a.numParams()));
                out.put(s.layer(), a);
            }
            return out;
        }

        ReferenceNetwork network(Map<String, Adapter> adapters, Mode mode) {
            return new ReferenceNetwork(inputShape, layers, adapters, mode, seed + 99);
        }
    }

    static Check proposition1(Problem p) {
        Map<String, Adapter> adapters = p.adapters();
        ReferenceNetwork net = p.network(adapters, Mode.UNMERGED);
        ErrorMeter meter = new ErrorMeter();
        for (int t = 0; t < 5; t++) {
            Pass pass = net.run(p.inputs.get(t), p.labels.get(t));
            for (Adapter a : adapters.values()) {
                HiddenGradient hg = pass.hidden().get(a.layer());
                meter.add(a.gradient(hg.input(), hg.gradient()), pass.parameterGradients().get(a.layer()));
            }
        }
        return new Check(p.kind.name(), "prop1: GL grad from (x,delta) = backprop dL/dw", meter.maxAbs(), meter.maxRel(),
                GRADIENT_TOLERANCE, meter.compared() + " values, 5 batches, layers " + adapters.keySet());
    }

    static Check glLossAutodiff(Problem p) {
        Map<String, Adapter> adapters = p.adapters();
        ReferenceNetwork net = p.network(adapters, Mode.UNMERGED);
        Pass pass = net.run(p.inputs.get(0), p.labels.get(0));
        ErrorMeter meter = new ErrorMeter();
        for (Adapter a : adapters.values()) {
            HiddenGradient hg = pass.hidden().get(a.layer());
            // Float64: the literal loss subtracts g(x) from g(x) - delta, which cancels catastrophically
            // in float32 (|g| >> |delta|); the analytic gradient under test stays float32.
            SameDiff sd = SameDiff.create();
            SDVariable x = sd.constant("x", hg.input().castTo(DataType.DOUBLE));
            SDVariable g = ReferenceNetwork.adapterOutput(sd, x, a, "gl");
            INDArray detached = g.eval();   // g(x).detach()
            SDVariable target = sd.constant("target", detached.sub(hg.gradient().castTo(DataType.DOUBLE)));
            SDVariable diff = g.sub(target);
            SDVariable loss = diff.mul(diff).sum().mul(0.5);
            sd.identity("glloss", loss);
            sd.setLossVariables("glloss");
            List<String> names = a.paramViews().keySet().stream().map(n -> "gl__" + n).toList();
            Map<String, INDArray> grads = sd.calculateGradients(Map.of(), names);
            Map<String, INDArray> named = new LinkedHashMap<>();
            for (String n : a.paramViews().keySet()) {
                named.put(n, GraphLayout.fromGraph(a, n, grads.get("gl__" + n)).castTo(DataType.FLOAT));
            }
            meter.add(a.gradient(hg.input(), hg.gradient()), a.flatten(named));
        }
        return new Check(p.kind.name(), "GL loss autodiff (f64) = analytic J^T delta", meter.maxAbs(), meter.maxRel(),
                GRADIENT_TOLERANCE, meter.compared() + " values");
    }

    static Check mergedForward(Problem p) {
        Map<String, Adapter> adapters = p.adapters();
        Pass unmerged = p.network(adapters, Mode.UNMERGED).run(p.inputs.get(0), p.labels.get(0));
        Pass merged = p.network(adapters, Mode.MERGED).run(p.inputs.get(0), p.labels.get(0));
        ErrorMeter meter = new ErrorMeter();
        meter.add(merged.logits(), unmerged.logits());
        for (String layer : adapters.keySet()) {
            meter.add(merged.hidden().get(layer).gradient(), unmerged.hidden().get(layer).gradient());
        }
        return new Check(p.kind.name(), "merged W+a*dW = base+adapter (logits, delta)", meter.maxAbs(), meter.maxRel(),
                GRADIENT_TOLERANCE, "loss " + merged.loss() + " vs " + unmerged.loss());
    }

    /**
     * ColA (device: {@link GradientLearner} with DL4J's Sgd, fed only (x_m, delta_m)) against
     * plain back-propagation SGD (w -= lr * dL/dw from SameDiff), same initial values and batches.
     * With interval > 1 the reference accumulates dL/dw over the interval with the adapter fixed.
     */
    static Check trajectory(Problem p, int interval, Mode colaMode) {
        return trajectory(p, interval, interval, colaMode);
    }

    /** Negative control: ColA at {@code interval} against a reference accumulating over {@code referenceInterval}. */
    static Check trajectoryAgainst(Problem p, int interval, int referenceInterval) {
        return trajectory(p, interval, referenceInterval, Mode.UNMERGED);
    }

    private static Check trajectory(Problem p, int interval, int referenceInterval, Mode colaMode) {
        Map<String, Adapter> colaAdapters = p.adapters();
        Map<String, Adapter> bpAdapters = new LinkedHashMap<>();
        colaAdapters.forEach((k, v) -> bpAdapters.put(k, v.copy()));
        Map<String, INDArray> initial = new LinkedHashMap<>();
        colaAdapters.forEach((k, v) -> initial.put(k, v.params().dup()));

        GradientLearner device = new GradientLearner(new ArrayList<>(colaAdapters.values()),
                OptimizerConfig.sgd(LEARNING_RATE), interval);
        // Merged mode: the coordinator computes with W + alpha dW of the last update it received;
        // the network reads dW from these coordinator-side copies, never from the device's adapters.
        Map<String, Adapter> coordinatorView = new LinkedHashMap<>();
        colaAdapters.forEach((k, v) -> coordinatorView.put(k, v.copy()));
        ReferenceNetwork colaNet = p.network(colaMode == Mode.MERGED ? coordinatorView : colaAdapters, colaMode);
        ReferenceNetwork bpNet = p.network(bpAdapters, Mode.UNMERGED);

        Map<String, INDArray> accumulated = new LinkedHashMap<>();
        for (int t = 0; t < STEPS; t++) {
            Pass cola = colaNet.run(p.inputs.get(t), p.labels.get(t));
            boolean updated = device.accept(cola.hidden());
            if (updated && colaMode == Mode.MERGED) {
                // The adapter update message: the device's new parameters reach the coordinator.
                // The coordinator then merges W + alpha dW (ReferenceNetwork in MERGED mode).
                colaAdapters.forEach((k, v) -> coordinatorView.get(k).setParams(v.params()));
            }

            Pass bp = bpNet.run(p.inputs.get(t), p.labels.get(t));
            bp.parameterGradients().forEach((k, g) -> accumulated.merge(k, g, INDArray::add));
            if ((t + 1) % referenceInterval == 0) {
                accumulated.forEach((k, g) -> bpAdapters.get(k).params().subi(g.mul(LEARNING_RATE)));
                accumulated.clear();
            }
        }
        ErrorMeter meter = new ErrorMeter();
        double moved = 0;
        for (String k : colaAdapters.keySet()) {
            meter.add(colaAdapters.get(k).params(), bpAdapters.get(k).params());
            moved = Math.max(moved, bpAdapters.get(k).params().sub(initial.get(k)).amaxNumber().doubleValue());
        }
        String name = interval == 1
                ? "trajectory I=1 " + colaMode.name().toLowerCase() + ": " + STEPS + " SGD steps = backprop"
                : "trajectory I=" + interval + ": " + STEPS + " steps = " + interval + "-batch accumulation";
        double rel = moved < 1e-3 ? Double.POSITIVE_INFINITY : meter.maxRel();
        return new Check(p.kind.name(), name, meter.maxAbs(), rel, TRAJECTORY_TOLERANCE,
                device.version() + " updates; parameters moved up to " + String.format("%.3g", moved));
    }
}
