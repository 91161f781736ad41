package org.colaedge.sim;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.edge.DeviceProfile;

/**
 * A declarative simulation scenario, read from HOCON: a built-in ({@code scenarios/NAME.conf} on the
 * classpath) or a file, over {@code scenarios/defaults.conf}, with single keys overridden on top.
 * Every value is checked here, with the key named in the error.
 */
public record Scenario(Config config, String name, String description,
                       String dataset, double testFraction, int limit, int users, String partition,
                       String model, AdapterKind adapter, int rank, float scaling, List<Integer> mlpHidden,
                       Trainer trainer, Mode mode, boolean merge, int interval, int epochs, int batch,
                       OptimizerConfig.Kind optimizer, double lr, double momentum, double weightDecay, double clip, String schedule, long seed,
                       Where where, int edgeJvms, String edgeHeap, boolean synchronous,
                       List<Double> speeds, Duration latency, long bandwidth, List<Crash> crashes,
                       List<Trainer> references, int evaluateMaxUsers) {

    /** COLA: the distributed actor system; the others run in-process ({@code TrainingLoop}). */
    public enum Trainer { COLA, FULL, PEFT_SERVER, COLA_LOCAL }

    public enum Where { IN_JVM, MULTI_JVM }

    /** An emulated device crash: after answering {@code atStep} steps, offline for {@code offline}, then restarted from its checkpoint. */
    public record Crash(int device, long atStep, Duration offline) { }

    /** The built-in scenarios, by name (files under {@code scenarios/} on the classpath). */
    public static final List<String> BUILT_IN = List.of("default", "quick", "ftaas-alone", "ftaas-col", "devices-1000", "heterogeneous",
            "multi-jvm", "paper-fmnist-mlp", "paper-fmnist-mlp-i8", "paper-fmnist-linear", "paper-fmnist-cnn", "paper-mnist-mlp");

    /** A built-in scenario name or a path to a .conf file, with {@code overrides} (HOCON, e.g. "epochs = 2") on top. */
    public static Scenario load(String nameOrFile, List<String> overrides) {
        Config base;
        Path file = Path.of(nameOrFile);
        if (nameOrFile.endsWith(".conf") || Files.exists(file)) {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("scenario file " + file + " does not exist");
            }
            base = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        } else {
            base = ConfigFactory.parseResources(Scenario.class, "/scenarios/" + nameOrFile + ".conf");
            if (base.isEmpty()) {
                throw new IllegalArgumentException("no built-in scenario '" + nameOrFile + "' (built in: " + String.join(", ", BUILT_IN)
                        + "); or give a path to a .conf file");
            }
        }
        Config over = ConfigFactory.empty();
        for (String o : overrides) {
            try {
                over = ConfigFactory.parseString(o).withFallback(over);
            } catch (ConfigException e) {
                throw new IllegalArgumentException("--set '" + o + "' is not KEY=VALUE in HOCON: " + e.getMessage());
            }
        }
        Config defaults = ConfigFactory.parseResources(Scenario.class, "/scenarios/defaults.conf");
        try {
            return fromConfig(over.withFallback(base).withFallback(defaults).resolve());
        } catch (ConfigException e) {
            throw new IllegalArgumentException("scenario " + nameOrFile + ": " + e.getMessage(), e);
        }
    }

    /** Reads and checks a fully resolved scenario. */
    public static Scenario fromConfig(Config c) {
        List<Crash> crashes = new ArrayList<>();
        for (Config k : c.getConfigList("devices.crashes")) {
            crashes.add(new Crash(k.getInt("device"), k.getLong("at-step"), k.getDuration("offline")));
        }
        List<Trainer> refs = c.getStringList("references").stream().map(r -> enumOf(Trainer.class, "references", r)).toList();
        Scenario s = new Scenario(c, c.getString("name"), c.getString("description"),
                c.getString("dataset"), c.getDouble("test-fraction"), c.getInt("limit"), c.getInt("users"), c.getString("partition"),
                c.getString("model"), enumOf(AdapterKind.class, "adapter", c.getString("adapter")), c.getInt("rank"), (float) c.getDouble("scaling"),
                List.copyOf(c.getIntList("mlp-hidden")),
                enumOf(Trainer.class, "trainer", c.getString("trainer")), enumOf(Mode.class, "mode", c.getString("mode")), c.getBoolean("merge"),
                c.getInt("interval"), c.getInt("epochs"), c.getInt("batch"),
                enumOf(OptimizerConfig.Kind.class, "optimizer", c.getString("optimizer")), c.getDouble("lr"), c.getDouble("momentum"),
                c.getDouble("weight-decay"), c.getDouble("clip"), c.getString("schedule"), c.getLong("seed"),
                enumOf(Where.class, "run.where", c.getString("run.where").replace('-', '_')), c.getInt("run.edge-jvms"), c.getString("run.edge-heap"),
                c.getBoolean("run.synchronous"),
                List.copyOf(c.getDoubleList("devices.speed")), c.getDuration("devices.latency"), c.getBytes("devices.bandwidth"),
                List.copyOf(crashes), refs, c.getInt("evaluate.max-users"));
        s.check();
        return s;
    }

    private void check() {
        require(!name.isBlank(), "name", "must not be empty");
        require(users >= 1, "users", "must be at least 1, was " + users);
        require(epochs >= 1, "epochs", "must be at least 1, was " + epochs);
        require(interval >= 1, "interval", "must be at least 1, was " + interval);
        require(batch >= 1, "batch", "must be at least 1, was " + batch);
        require(limit >= 0, "limit", "must not be negative");
        require(testFraction > 0 && testFraction < 1, "test-fraction", "must be in (0, 1)");
        require(lr > 0, "lr", "must be positive");
        require(edgeJvms >= 1, "run.edge-jvms", "must be at least 1");
        require(!speeds.isEmpty(), "devices.speed", "needs at least one value");
        for (double v : speeds) {
            require(v > 0 && v <= 1, "devices.speed", "values must be in (0, 1], got " + v);
        }
        require(!latency.isNegative(), "devices.latency", "must not be negative");
        require(bandwidth >= 0, "devices.bandwidth", "must not be negative");
        for (Crash k : crashes) {
            require(k.device() >= 0 && k.device() < users, "devices.crashes", "device " + k.device() + " is not one of 0.." + (users - 1));
            require(k.atStep() >= 1, "devices.crashes", "at-step must be at least 1");
        }
        if (synchronous) {
            require(where == Where.IN_JVM, "run.synchronous", "needs run.where = in-jvm (the run paces its devices epoch by epoch)");
            require(crashes.isEmpty(), "run.synchronous", "does not combine with devices.crashes (a lockstep group would wait for the crashed device)");
        }
        require(evaluateMaxUsers >= 1, "evaluate.max-users", "must be at least 1");
        if (trainer == Trainer.COLA && mode == Mode.COL) {
            require(merge, "merge", "must be true in COL mode: a group merges the mean dW into its shared model");
        }
        require(schedule.equals("cosine") || schedule.equals("constant"), "schedule", "must be cosine or constant, was '" + schedule + "'");
    }

    private static void require(boolean ok, String key, String message) {
        if (!ok) {
            throw new IllegalArgumentException("scenario key '" + key + "' " + message);
        }
    }

    static <E extends Enum<E>> E enumOf(Class<E> type, String key, String value) {
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("scenario key '" + key + "': '" + value + "' is not one of "
                    + java.util.Arrays.toString(type.getEnumConstants()));
        }
    }

    /** The device profile of device {@code k}: speeds cycle; crashes are applied by the runner. */
    public DeviceProfile profile(int k) {
        return new DeviceProfile(speeds.get(k % speeds.size()), latency, bandwidth, -1, synchronous);
    }

    /** Whether every device is an ideal one (no emulated slowness, link or crash). */
    public boolean idealDevices() {
        return speeds.stream().allMatch(v -> v == 1.0) && latency.isZero() && bandwidth == 0 && crashes.isEmpty();
    }

    /** The resolved configuration as HOCON text (the run folder's config.conf). */
    public String render() {
        return config.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
    }

    /** A copy with other values for some keys (e.g. a reference run). */
    public Scenario with(String hocon) {
        return fromConfig(ConfigFactory.parseString(hocon).withFallback(config).resolve());
    }
}
