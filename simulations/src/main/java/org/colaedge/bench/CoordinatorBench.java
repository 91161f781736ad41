package org.colaedge.bench;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.common.learning.Merging;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.learning.ParameterOptimizer;
import org.colaedge.coordinator.model.AutodiffGraph;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.HiddenGradientEngine;
import org.colaedge.coordinator.model.HiddenGradientEngine.Segment;
import org.colaedge.coordinator.model.LayerSpec;
import org.colaedge.coordinator.model.ModelView;
import org.colaedge.coordinator.model.SlotView;
import org.colaedge.coordinator.training.AdapterPlan;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The coordinator's per-batch step, side by side: COLA (hidden gradients only; merged and
 * unmerged), PEFT_SERVER (adapter gradients and optimizer on the coordinator; by SameDiff autodiff,
 * and by the hidden-gradient engine plus analytic adapter gradients) and FULL (autodiff of all base
 * weights plus optimizer). Variants run round-robin in each repetition so that machine noise
 * hits them alike; the median is reported. GFLOP/s counts the ideal FLOPs of each variant against a
 * plain sgemm of the same matrix shapes (the limit of this CPU).
 */
public final class CoordinatorBench {

    /** One measured variant. */
    public record Row(String model, int batch, String variant, double msPerStep, double heapMbPerStep, double gflop, double gflops) { }

    private final int warmup;
    private final int reps;
    private final PrintWriter out;

    public CoordinatorBench(int warmup, int reps, PrintWriter out) {
        this.warmup = warmup;
        this.reps = reps;
        this.out = out;
    }

    public List<Row> run(List<String> models, List<Integer> batches) {
        List<Row> rows = new ArrayList<>();
        for (String m : models) {
            BaseModel model = switch (m) {
                case "mlp" -> BaseModel.mlp(new long[] {784}, List.of(128, 256), 10, 1);
                case "cnn" -> BaseModel.cnn(new long[] {1, 28, 28}, List.of(64, 128, 256, 512), 10, 1);
                default -> throw new IllegalArgumentException("unknown model '" + m + "' (mlp, cnn)");
            };
            for (int batch : batches) {
                rows.addAll(measure(model, batch));
            }
        }
        return rows;
    }

    private List<Row> measure(BaseModel model, int batch) {
        AdapterPlan plan = AdapterPlan.of(AdapterKind.LINEAR);
        Map<String, Adapter> adapters = plan.create(model, 7);
        adapters.values().forEach(a -> a.params().addi(Nd4j.rand(DataType.FLOAT, 1, a.numParams()).subi(0.5).muli(0.01)));
        long[] shape = new long[model.inputShape().length + 1];
        shape[0] = batch;
        System.arraycopy(model.inputShape(), 0, shape, 1, model.inputShape().length);
        Nd4j.getRandom().setSeed(3);
        INDArray x = Nd4j.rand(DataType.FLOAT, shape);
        INDArray y = Nd4j.zeros(DataType.FLOAT, batch, model.classes());
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, i % model.classes(), 1f);
        }
        OptimizerConfig opt = OptimizerConfig.nesterovs(0.01, 0.9).withWeightDecay(5e-4).withClipNorm(1.0);

        HiddenGradientEngine engine = new HiddenGradientEngine(model);
        Map<String, SlotView> unmergedSlots = new LinkedHashMap<>();
        Map<String, SlotView> mergedSlots = new LinkedHashMap<>();
        for (Adapter a : adapters.values()) {
            unmergedSlots.put(a.layer(), new SlotView.Unmerged(a));
            INDArray db = a.deltaBias();
            INDArray b = db == null ? model.bias(a.layer()) : model.bias(a.layer()).add(db);
            mergedSlots.put(a.layer(), new SlotView.Merged(Merging.merge(model.weight(a.layer()), a.deltaWeight(), a.spec().scaling()), b));
        }
        List<Segment> unmerged = List.of(new Segment(batch, new ModelView("u", unmergedSlots)));
        List<Segment> merged = List.of(new Segment(batch, new ModelView("m", mergedSlots)));

        AutodiffGraph peftGraph = new AutodiffGraph(model, adapters, AutodiffGraph.Trainable.ADAPTERS);
        Map<String, Long> sizes = new LinkedHashMap<>();
        Map<String, INDArray> adapterParams = new LinkedHashMap<>();
        adapters.forEach((k, v) -> {
            sizes.put(k, v.numParams());
            adapterParams.put(k, v.params());
        });
        ParameterOptimizer peftOpt = new ParameterOptimizer(opt, sizes);
        ParameterOptimizer peftEngineOpt = new ParameterOptimizer(opt, sizes);
        AutodiffGraph fullGraph = new AutodiffGraph(model, Map.of(), AutodiffGraph.Trainable.BASE);
        Map<String, INDArray> fullParams = fullGraph.baseVariables();
        Map<String, Long> fullSizes = new LinkedHashMap<>();
        fullParams.forEach((k, v) -> fullSizes.put(k, v.length()));
        ParameterOptimizer fullOpt = new ParameterOptimizer(opt, fullSizes);

        Flops f = Flops.of(model, adapters, batch);
        Map<String, Runnable> variants = new LinkedHashMap<>();
        Map<String, Double> flops = new LinkedHashMap<>();
        variants.put("COLA merged", () -> engine.compute(x, y, merged));
        flops.put("COLA merged", f.forward + f.inputGrads);
        variants.put("COLA unmerged", () -> engine.compute(x, y, unmerged));
        flops.put("COLA unmerged", f.forward + f.inputGrads + f.adapterForward + f.adapterInputGrads);
        variants.put("PEFT_SERVER autodiff", () -> {
            AutodiffGraph.Gradients g = peftGraph.gradients(x, y);
            peftOpt.step(adapterParams, g.parameterGradients());
        });
        flops.put("PEFT_SERVER autodiff", f.forward + f.inputGrads + f.adapterForward + f.adapterInputGrads + f.adapterParamGrads);
        variants.put("PEFT_SERVER engine", () -> {
            var r = engine.compute(x, y, unmerged);
            Map<String, INDArray> grads = new LinkedHashMap<>();
            for (Map.Entry<String, HiddenGradient> e : r.segments().get(0).hidden().entrySet()) {
                grads.put(e.getKey(), adapters.get(e.getKey()).gradient(e.getValue().input(), e.getValue().gradient()));
            }
            peftEngineOpt.step(adapterParams, grads);
        });
        flops.put("PEFT_SERVER engine", f.forward + f.inputGrads + f.adapterForward + f.adapterInputGrads + f.adapterParamGrads);
        variants.put("FULL", () -> {
            AutodiffGraph.Gradients g = fullGraph.gradients(x, y);
            fullOpt.step(fullParams, g.parameterGradients());
        });
        flops.put("FULL", f.forward + f.inputGrads + f.weightGrads);

        Map<String, double[]> times = new LinkedHashMap<>();
        Map<String, double[]> bytes = new LinkedHashMap<>();
        variants.keySet().forEach(k -> {
            times.put(k, new double[reps]);
            bytes.put(k, new double[reps]);
        });
        for (int r = -warmup; r < reps; r++) {
            for (Map.Entry<String, Runnable> v : variants.entrySet()) {
                long b0 = allocatedBytes();
                long t0 = System.nanoTime();
                v.getValue().run();
                long t1 = System.nanoTime();
                long b1 = allocatedBytes();
                if (r >= 0) {
                    times.get(v.getKey())[r] = (t1 - t0) / 1e6;
                    bytes.get(v.getKey())[r] = (b1 - b0) / 1e6;
                }
            }
        }
        double gemmGflops = sgemmGflops(f.gemmShapes);
        List<Row> rows = new ArrayList<>();
        for (String k : variants.keySet()) {
            double ms = median(times.get(k));
            double gflop = flops.get(k) / 1e9;
            rows.add(new Row(model.name(), batch, k, ms, median(bytes.get(k)), gflop, gflop / (ms / 1e3)));
        }
        rows.add(new Row(model.name(), batch, "plain sgemm (same shapes)", Double.NaN, Double.NaN, Double.NaN, gemmGflops));
        return rows;
    }

    /** GFLOP/s of back-to-back sgemms of the given [m, k, n] shapes: the CPU's practical limit here. */
    private double sgemmGflops(List<long[]> shapes) {
        List<INDArray[]> ops = new ArrayList<>();
        double flop = 0;
        for (long[] s : shapes) {
            ops.add(new INDArray[] {Nd4j.rand(DataType.FLOAT, s[0], s[1]), Nd4j.rand(DataType.FLOAT, s[1], s[2]), Nd4j.create(DataType.FLOAT, s[0], s[2])});
            flop += 2.0 * s[0] * s[1] * s[2];
        }
        double[] t = new double[Math.max(reps, 5)];
        for (int r = -warmup; r < t.length; r++) {
            long t0 = System.nanoTime();
            for (INDArray[] o : ops) {
                o[0].mmuli(o[1], o[2]);
            }
            if (r >= 0) {
                t[r] = (System.nanoTime() - t0) / 1e9;
            }
        }
        return flop / median(t) / 1e9;
    }

    private static long allocatedBytes() {
        var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        return bean.getCurrentThreadAllocatedBytes();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Ideal FLOP counts of the pieces of a step, and the GEMM shapes they reduce to. */
    static final class Flops {
        double forward;
        double inputGrads;
        double weightGrads;
        double adapterForward;
        double adapterInputGrads;
        double adapterParamGrads;
        final List<long[]> gemmShapes = new ArrayList<>();

        static Flops of(BaseModel model, Map<String, Adapter> adapters, int batch) {
            Flops f = new Flops();
            long[] s = model.inputShape();
            boolean first = true;
            for (LayerSpec l : model.layers()) {
                if (l instanceof LayerSpec.Dense d) {
                    double mm = 2.0 * batch * d.in() * d.out();
                    f.forward += mm;
                    f.weightGrads += mm;
                    if (!first) {
                        f.inputGrads += mm;
                    }
                    f.gemmShapes.add(new long[] {batch, d.in(), d.out()});
                    Adapter a = adapters.get(d.name());
                    if (a != null) {
                        double am = 2.0 * batch * a.numParams(); // x W_a (+ b): ~ 2 N params
                        f.adapterForward += am;
                        f.adapterInputGrads += am;
                        f.adapterParamGrads += am;
                    }
                    s = new long[] {d.out()};
                    first = false;
                } else if (l instanceof LayerSpec.Conv2d c) {
                    long oh = c.geometry().outHeight(s[1]);
                    long ow = c.geometry().outWidth(s[2]);
                    long k = c.inChannels() * c.geometry().kernelH() * c.geometry().kernelW();
                    double mm = 2.0 * batch * oh * ow * k * c.outChannels();
                    f.forward += mm;
                    f.weightGrads += mm;
                    if (!first) {
                        f.inputGrads += mm;
                    }
                    f.gemmShapes.add(new long[] {batch * oh * ow, k, c.outChannels()});
                    Adapter a = adapters.get(c.name());
                    if (a != null) {
                        double am = 2.0 * batch * oh * ow * (k * a.spec().rank() + a.spec().rank() * c.outChannels());
                        f.adapterForward += am;
                        f.adapterInputGrads += am;
                        f.adapterParamGrads += am;
                    }
                    s = new long[] {c.outChannels(), oh, ow};
                    first = false;
                } else if (l instanceof LayerSpec.MaxPool p) {
                    s = new long[] {s[0], (s[1] - p.kernel()) / p.stride() + 1, (s[2] - p.kernel()) / p.stride() + 1};
                } else if (l instanceof LayerSpec.GlobalAvgPool) {
                    s = new long[] {s[0]};
                } else if (l instanceof LayerSpec.Flatten) {
                    s = new long[] {Arrays.stream(s).reduce(1, (p, q) -> p * q)};
                }
            }
            return f;
        }
    }

    /** Prints the table and returns the headline ratios. */
    public static Map<String, Double> print(List<Row> rows, PrintWriter out) {
        out.printf("%-6s %6s  %-26s %10s %12s %9s %9s%n", "model", "batch", "variant", "ms/step", "heap MB/step", "GFLOP", "GFLOP/s");
        for (Row r : rows) {
            out.printf("%-6s %6d  %-26s %10s %12s %9s %9.1f%n", r.model(), r.batch(), r.variant(),
                    Double.isNaN(r.msPerStep()) ? "-" : String.format("%.2f", r.msPerStep()),
                    Double.isNaN(r.heapMbPerStep()) ? "-" : String.format("%.2f", r.heapMbPerStep()),
                    Double.isNaN(r.gflop()) ? "-" : String.format("%.3f", r.gflop()), r.gflops());
        }
        out.println();
        out.printf("%-6s %6s  %22s %22s %18s %18s%n", "model", "batch", "cola merged/peft best", "cola unmerged/peft best", "cola merged/full", "cola unmerged/full");
        Map<String, Double> headline = new LinkedHashMap<>();
        Map<String, Map<String, Double>> byConfig = new LinkedHashMap<>();
        for (Row r : rows) {
            byConfig.computeIfAbsent(r.model() + " " + r.batch(), k -> new LinkedHashMap<>()).put(r.variant(), r.msPerStep());
        }
        for (Map.Entry<String, Map<String, Double>> e : byConfig.entrySet()) {
            Map<String, Double> v = e.getValue();
            double peft = Math.min(v.get("PEFT_SERVER autodiff"), v.get("PEFT_SERVER engine"));
            double cm = v.get("COLA merged") / peft;
            double cu = v.get("COLA unmerged") / peft;
            double fm = v.get("COLA merged") / v.get("FULL");
            double fu = v.get("COLA unmerged") / v.get("FULL");
            String[] k = e.getKey().split(" ");
            out.printf("%-6s %6s  %22.2f %22.2f %18.2f %18.2f%n", k[0], k[1], cm, cu, fm, fu);
            headline.putIfAbsent("cola/peft-server", cm);
            headline.putIfAbsent("cola/full", fm);
            if (e.getKey().equals("mlp 256")) {
                headline.put("cola/peft-server", cm);
                headline.put("cola/full", fm);
            }
        }
        return headline;
    }
}
