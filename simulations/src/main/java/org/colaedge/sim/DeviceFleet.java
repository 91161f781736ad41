package org.colaedge.sim;

import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.actors.JobEntity;
import org.colaedge.edge.DeviceActor;
import org.colaedge.edge.DeviceProfile;

/**
 * The virtual edge devices of a run hosted in one ActorSystem: spawns a {@link DeviceActor} per
 * device on the learning dispatcher, each with its batches, job, optimizer and profile; restarts a
 * device that crashed (an emulated crash of the scenario) from its local checkpoint once its
 * offline time has passed; completes when every device has answered its last step.
 */
public final class DeviceFleet {

    private final ActorSystem<?> system;
    private final SimulationSetup setup;
    private final List<Integer> devices;
    private final Path checkpoints;
    private final WireMapping wire;
    private final Map<Integer, Integer> restarts = new ConcurrentHashMap<>();
    private final Map<Integer, DeviceActor.State> finished = new ConcurrentHashMap<>();
    private final CompletableFuture<Map<Integer, DeviceActor.State>> done = new CompletableFuture<>();
    private ActorRef<DeviceActor.State> collector;
    private final Map<Integer, ActorRef<DeviceActor.Command>> running = new ConcurrentHashMap<>();

    /** @param checkpoints folder of the devices' checkpoint files (needed when the scenario has crashes) */
    public DeviceFleet(ActorSystem<?> system, SimulationSetup setup, List<Integer> devices, Path checkpoints) {
        this.system = system;
        this.setup = setup;
        this.devices = List.copyOf(devices);
        this.checkpoints = checkpoints;
        this.wire = new WireMapping(new TensorCodec(system.settings().config().getBytes("colaedge.cluster.maximum-message-size")));
    }

    /** Starts every device; the future completes with their final states (or fails if a device reports errors it could not skip). */
    public CompletableFuture<Map<Integer, DeviceActor.State>> start() {
        collector = system.systemActorOf(Behaviors.<DeviceActor.State>receiveMessage(s -> {
            onState(s);
            return Behaviors.same();
        }), "fleet-" + System.nanoTime(), Props.empty());
        if (devices.isEmpty()) {
            done.complete(Map.of());
        }
        for (int k : devices) {
            spawn(k);
        }
        return done;
    }

    private void spawn(int k) {
        int restart = restarts.getOrDefault(k, 0);
        List<Scenario.Crash> crashes = crashesOf(k);
        DeviceProfile profile = setup.scenario().profile(k);
        if (restart < crashes.size()) {
            profile = profile.withCrashAtStep(crashes.get(restart).atStep());
        }
        Path checkpoint = crashes.isEmpty() ? null : checkpoints.resolve(setup.deviceId(k) + ".ceck");
        var job = ClusterSharding.get(system).entityRefFor(JobEntity.TYPE_KEY, setup.jobId(k));
        DeviceBatches batches = setup.batches(k);
        running.put(k, system.systemActorOf(DeviceActor.create(setup.deviceId(k), job, setup.jobSpec(k), batches, setup.deviceOptimizer(batches), wire,
                collector, checkpoint, profile), setup.deviceId(k) + "-" + restart, DeviceActor.DISPATCHER));
    }

    private void onState(DeviceActor.State s) {
        int k = Integer.parseInt(s.deviceId().substring(s.deviceId().lastIndexOf('-') + 1));
        if (!s.finished()) {
            int restart = restarts.merge(k, 1, Integer::sum) - 1;
            Scenario.Crash crash = crashesOf(k).get(restart);
            system.scheduler().scheduleOnce(crash.offline(), () -> spawn(k), system.executionContext());
            return;
        }
        finished.put(k, s);
        if (finished.size() == devices.size()) {
            done.complete(Map.copyOf(finished));
        }
    }

    /** Device k's emulated crashes, in the order they happen. */
    private List<Scenario.Crash> crashesOf(int k) {
        return setup.scenario().crashes().stream().filter(c -> c.device() == k).sorted(Comparator.comparingLong(Scenario.Crash::atStep)).toList();
    }

    /** Paced devices (synchronous runs): lets device k submit its steps below {@code untilStep.apply(k)}. */
    public void release(java.util.function.IntToLongFunction untilStep) {
        running.forEach((k, ref) -> ref.tell(new DeviceActor.Release(untilStep.applyAsLong(k))));
    }

    /** Device restarts after emulated crashes so far. */
    public int restarts() {
        return restarts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Devices that have finished so far. */
    public int finishedCount() {
        return finished.size();
    }
}
