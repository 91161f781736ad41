package org.colaedge.sim;

import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.cluster.ClusterSettings;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.actors.GroupEntity;
import org.colaedge.coordinator.actors.JobEntity;
import org.colaedge.coordinator.actors.JobSharding;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.JobStatus;
import org.colaedge.proto.v1.StateRequest;
import org.colaedge.sim.report.MetricsRow;

/**
 * One distributed ColA run: this JVM is the coordinator node (a Pekko cluster member with role
 * {@code coordinator}, job and group entities, batcher, compute pool); the edge devices run as
 * actors in this JVM ({@code in-jvm}) or in edge JVMs the caller launches ({@code multi-jvm}). The
 * run watches the jobs through {@code StateRequest}s, the same wire messages a monitor would send:
 * progress, loss, staleness and bytes come from the jobs' running totals, and after each epoch
 * (every device has computed it and its update is applied) the served models are evaluated on the
 * test split. Devices run asynchronously, so an epoch's evaluation may include a few steps of the
 * next epoch.
 */
public final class Simulation {

    /** What the caller sees while it runs. */
    public interface Listener {
        default void progress(long stepsDone, long totalSteps, double loss) {
        }

        default void epoch(MetricsRow row) {
        }
    }

    /** Starts the edge JVMs of a multi-JVM run, given the coordinator's HOST:PORT; returns the processes. */
    public interface EdgeLauncher {
        List<Process> launch(String seedHostPort) throws IOException;
    }

    /**
     * The run's figures; {@code devices}: the devices' final states when they ran in this JVM
     * (empty for multi-JVM runs); {@code restarts}: devices restarted after emulated crashes (in-JVM).
     */
    public record Outcome(List<MetricsRow> rows, double finalAccuracy, double[] finalUserAccuracy, double seconds, long samples, long errors,
                          Map<Integer, org.colaedge.edge.DeviceActor.State> devices, int restarts) { }

    private static final Duration ASK = Duration.ofSeconds(30);
    /** A run that computes no step for this long has stalled: it fails instead of hanging. */
    private static final Duration STALL = Duration.ofMinutes(3);

    private final SimulationSetup setup;
    private final Scenario scenario;
    private final List<Integer> devices;
    private final List<Map<String, Adapter>> templates = new ArrayList<>();
    private final long totalSamples;
    private final List<DeviceBatches> batches = new ArrayList<>();
    private ActorSystem<Void> system;
    private Evaluator evaluator;
    private DeviceFleet fleet;

    public Simulation(SimulationSetup setup) {
        this.setup = setup;
        this.scenario = setup.scenario();
        this.devices = setup.devices();
        long samples = 0;
        for (int k : devices) {
            DeviceBatches b = setup.batches(k);
            batches.add(b);
            samples += (long) b.samples() * scenario.epochs();
            templates.add(setup.adapters(k));
        }
        this.totalSamples = samples;
    }

    /** Total device steps of the run (progress bar size). */
    public long totalSteps() {
        return batches.stream().mapToLong(DeviceBatches::steps).sum();
    }

    /** A simulation node's configuration: loopback, any free port, quiet logs, {@code hocon} on top. */
    public static Config nodeConfig(String role, String seedHostPort, String hocon) {
        return ClusterSettings.nodeConfig(role, "127.0.0.1", 0, seedHostPort, "pekko.loglevel = \"WARNING\"\n"
                // Coordinator snapshots guard against a coordinator node leaving, which a simulation
                // does not do; written after every version they would cost gigabytes of writes per run.
                + "colaedge.coordinator.snapshots.dir = \"\"\n" + hocon);
    }

    public Outcome run(Path runDir, Listener listener, EdgeLauncher launcher) throws Exception {
        long start = System.nanoTime();
        // Synchronous: one job per pass. A pass over several jobs' rows can round a row's loss
        // differently from a pass over its job alone (measured: the 8th digit), and the mix varies by timing.
        Config config = nodeConfig(ClusterSettings.COORDINATOR_ROLE, null,
                scenario.synchronous() ? "colaedge.coordinator.batching.max-segments = 1" : "");
        system = ActorSystem.create(Behaviors.empty(), ClusterSettings.SYSTEM_NAME, config);
        List<Process> edges = List.of();
        try {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
            JobSharding.init(system, Map.of(setup.base().name(), setup.base()));
            WireMapping wire = new WireMapping(new TensorCodec(system.settings().config().getBytes("colaedge.cluster.maximum-message-size")));
            evaluator = new Evaluator(setup.base(), setup.data().test(), wire);
            CompletableFuture<?> finished;
            if (scenario.where() == Scenario.Where.IN_JVM) {
                Path checkpoints = Files.createDirectories(runDir.resolve("checkpoints"));
                fleet = new DeviceFleet(system, setup, devices, checkpoints);
                finished = fleet.start();
                if (scenario.synchronous()) {
                    fleet.release(k -> boundary(k, 1));
                }
            } else {
                var addr = cluster.selfMember().address();
                edges = launcher.launch(addr.getHost().get() + ":" + addr.getPort().get());
                finished = CompletableFuture.allOf(edges.stream().map(p -> p.onExit().thenAccept(x -> {
                    if (x.exitValue() != 0) {
                        throw new IllegalStateException("an edge JVM exited with status " + x.exitValue());
                    }
                })).toArray(CompletableFuture[]::new));
            }
            return watch(listener, finished, start);
        } finally {
            for (Process p : edges) {
                p.destroy();
            }
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private Outcome watch(Listener listener, CompletableFuture<?> finished, long start) throws Exception {
        List<MetricsRow> rows = new ArrayList<>();
        int epoch = 1;
        long prevSteps = 0;
        double prevLoss = 0;
        long prevStale = 0;
        long[] finalVersion = new long[devices.size()];
        for (int k : devices) {
            finalVersion[k] = (batches.get(k).steps() + scenario.interval() - 1) / scenario.interval();
        }
        double[] lastUsers = new double[0];
        long stalledSteps = -1;
        long stalledSince = System.nanoTime();
        double lastAccuracy = Double.NaN;
        while (true) {
            if (finished.isCompletedExceptionally()) {
                finished.join(); // throws the failure
            }
            List<JobStatus> st = statuses(false, devices);
            long steps = st.stream().mapToLong(JobStatus::getStepsComputed).sum();
            double loss = st.stream().mapToDouble(JobStatus::getLossSum).sum();
            listener.progress(Math.min(steps, totalSteps()), totalSteps(),
                    steps > prevSteps ? (loss - prevLoss) / (steps - prevSteps) : Double.NaN);
            boolean last = epoch == scenario.epochs();
            if (epochApplied(st, epoch, last ? finalVersion : null) && (!(last || scenario.synchronous()) || groupComplete(epoch, last))) {
                double[] users = evaluate();
                double overall = Arrays.stream(users).filter(d -> !Double.isNaN(d)).average().orElse(Double.NaN);
                long stale = st.stream().mapToLong(JobStatus::getStalenessSum).sum();
                MetricsRow row = new MetricsRow(scenario.name(), epoch, steps, (System.nanoTime() - start) / 1e9,
                        steps > prevSteps ? (loss - prevLoss) / (steps - prevSteps) : Double.NaN, overall, users.length > 1 ? users : new double[0],
                        steps > prevSteps ? (double) (stale - prevStale) / (steps - prevSteps) : 0,
                        st.stream().mapToLong(JobStatus::getBytesSent).sum(), st.stream().mapToLong(JobStatus::getBytesReceived).sum(),
                        st.stream().mapToLong(JobStatus::getDeviceBusyMicros).sum() / 1e6);
                rows.add(row);
                listener.epoch(row);
                prevSteps = steps;
                prevLoss = loss;
                prevStale = stale;
                lastUsers = users;
                lastAccuracy = overall;
                if (last) {
                    long errors = st.stream().mapToLong(JobStatus::getErrors).sum();
                    Object states = finished.get(60, TimeUnit.SECONDS);
                    @SuppressWarnings("unchecked")
                    Map<Integer, org.colaedge.edge.DeviceActor.State> devices = states instanceof Map<?, ?> m
                            ? (Map<Integer, org.colaedge.edge.DeviceActor.State>) m : Map.of();
                    return new Outcome(rows, lastAccuracy, lastUsers, (System.nanoTime() - start) / 1e9, totalSamples, errors, devices,
                            fleet == null ? 0 : fleet.restarts());
                }
                epoch++;
                if (scenario.synchronous()) {
                    int next = epoch;
                    fleet.release(k -> boundary(k, next));
                }
                continue;
            }
            if (steps > stalledSteps) {
                stalledSteps = steps;
                stalledSince = System.nanoTime();
            } else if (System.nanoTime() - stalledSince > STALL.toNanos()) {
                throw new IllegalStateException("no progress for " + STALL.toSeconds() + " s at " + steps + " of " + totalSteps()
                        + " steps, waiting for epoch " + epoch + " to be computed and applied");
            }
            Thread.sleep(Math.max(100, Math.min(1000, devices.size())));
        }
    }

    /**
     * Whether every job has computed epoch {@code epoch} and applied the update that covers it
     * ({@code finalVersion}: at the end, the device's last version, flushed, must be applied).
     */
    private boolean epochApplied(List<JobStatus> st, int epoch, long[] finalVersion) {
        for (int i = 0; i < st.size(); i++) {
            JobStatus s = st.get(i);
            int k = devices.get(i);
            long need = boundary(k, epoch);
            long version = finalVersion != null ? finalVersion[k] : need / scenario.interval();
            if (!s.getStarted() || s.getNextStep() < need || s.getAdapterVersion() < version) {
                return false;
            }
        }
        return true;
    }

    /**
     * The steps device k has computed at the end of {@code epoch}: its own epochs when it runs
     * asynchronously; in lockstep, the longest device epoch for all (devices with fewer steps per
     * epoch run into their next one), since a synchronous round needs every device still training.
     */
    private long boundary(int k, int epoch) {
        long per = scenario.synchronous() ? batches.stream().mapToLong(DeviceBatches::stepsPerEpoch).max().orElse(0)
                : batches.get(k).stepsPerEpoch();
        return Math.min(epoch * per, batches.get(k).steps());
    }

    /**
     * COL: the group's mean rests on every sample through {@code epoch} that the devices have sent
     * (at the end: all of them; before, what their last full interval covers).
     */
    private boolean groupComplete(int epoch, boolean last) throws Exception {
        if (scenario.mode() != Mode.COL) {
            return true;
        }
        long expected = 0;
        for (int k : devices) {
            long need = boundary(k, epoch);
            expected += batches.get(k).rowsBefore(last ? need : need / scenario.interval() * scenario.interval());
        }
        return ask(groupRef(), false).getSamples() >= expected;
    }

    /** Accuracy per served model: the group's (COL) or each user's (ALONE; a seeded sample of evaluate.max-users users, NaN for the others). */
    private double[] evaluate() throws Exception {
        if (scenario.mode() == Mode.COL) {
            JobStatus g = ask(groupRef(), true);
            return new double[] {evaluator.accuracy(evaluator.groupView(SimulationSetup.GROUP, templates.get(0), g.getAdaptersList()))};
        }
        List<Integer> which = devices;
        if (devices.size() > scenario.evaluateMaxUsers()) {
            List<Integer> shuffled = new ArrayList<>(devices);
            java.util.Collections.shuffle(shuffled, new java.util.Random(scenario.seed()));
            which = shuffled.subList(0, scenario.evaluateMaxUsers()).stream().sorted().toList();
        }
        double[] acc = new double[devices.size()];
        Arrays.fill(acc, Double.NaN);
        List<JobStatus> st = statuses(true, which);
        for (int i = 0; i < which.size(); i++) {
            int k = which.get(i);
            acc[k] = evaluator.accuracy(evaluator.jobView(setup.jobId(k), templates.get(k), st.get(i).getAdaptersList()));
        }
        return acc;
    }

    private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<WireEnvelope> groupRef() {
        return ClusterSharding.get(system).entityRefFor(GroupEntity.TYPE_KEY, SimulationSetup.GROUP);
    }

    private List<JobStatus> statuses(boolean adapters, List<Integer> which) throws Exception {
        ClusterSharding sharding = ClusterSharding.get(system);
        List<CompletableFuture<JobStatus>> asks = new ArrayList<>();
        for (int k : which) {
            asks.add(askAsync(sharding.entityRefFor(JobEntity.TYPE_KEY, setup.jobId(k)), adapters));
        }
        List<JobStatus> out = new ArrayList<>();
        for (CompletableFuture<JobStatus> f : asks) {
            out.add(f.get(ASK.toSeconds() + 5, TimeUnit.SECONDS));
        }
        return out;
    }

    private JobStatus ask(org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<WireEnvelope> ref, boolean adapters) throws Exception {
        return askAsync(ref, adapters).get(ASK.toSeconds() + 5, TimeUnit.SECONDS);
    }

    private CompletableFuture<JobStatus> askAsync(org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<WireEnvelope> ref, boolean adapters) {
        StateRequest req = StateRequest.newBuilder().setIncludeAdapters(adapters).build();
        Function<org.apache.pekko.actor.typed.ActorRef<WireEnvelope>, WireEnvelope> msg = replyTo -> new WireEnvelope("simulation", req, replyTo);
        return ref.<WireEnvelope>ask(msg::apply, ASK).toCompletableFuture().thenApply(e -> {
            if (e.payload() instanceof JobStatus s) {
                return s;
            }
            if (e.payload() instanceof ErrorReply r) {
                throw new IllegalStateException(e.senderId() + " refused the state request: " + r.getCode() + " " + r.getMessage());
            }
            throw new IllegalStateException(e.senderId() + " answered a state request with " + e.payload().getClass().getSimpleName());
        });
    }
}
