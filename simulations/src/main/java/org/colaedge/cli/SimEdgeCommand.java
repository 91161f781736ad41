package org.colaedge.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.colaedge.edge.DeviceActor;
import org.colaedge.sim.DeviceFleet;
import org.colaedge.sim.Scenario;
import org.colaedge.sim.Simulation;
import org.colaedge.sim.SimulationSetup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code colaedge sim-edge}: one edge JVM of a multi-JVM simulation run (launched by {@code simulate}, not by hand). */
@Command(name = "sim-edge", hidden = true, mixinStandardHelpOptions = true,
        description = "An edge JVM of a multi-JVM simulation: hosts some of the scenario's devices until they finish.")
final class SimEdgeCommand implements Callable<Integer> {

    @Option(names = "--scenario", required = true, description = "The run's resolved scenario file.")
    Path scenario;

    @Option(names = "--seed", required = true, description = "HOST:PORT of the coordinator node.")
    String seed;

    @Option(names = "--devices", required = true, split = ",", description = "Device numbers to host.")
    List<Integer> devices;

    @Option(names = "--checkpoints", required = true, description = "Folder of the devices' checkpoint files.")
    Path checkpoints;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Scenario s = Scenario.load(scenario.toString(), List.of());
        for (int k : devices) {
            if (k < 0 || k >= s.users()) {
                throw new IllegalArgumentException("--devices: " + k + " is not one of 0.." + (s.users() - 1));
            }
        }
        SimulationSetup setup = TrainOptions.setup(s);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), Nodes.SYSTEM, Simulation.nodeConfig(org.colaedge.common.cluster.ClusterSettings.EDGE_ROLE, seed, ""));
        try {
            Nodes.initJobs(system, Map.of());
            out.printf("sim-edge: devices %s of scenario %s, coordinator %s%n", devices, s.name(), seed);
            out.flush();
            Map<Integer, DeviceActor.State> done = new DeviceFleet(system, setup, devices, checkpoints).start()
                    .get(24, TimeUnit.HOURS);
            long errors = done.values().stream().mapToLong(d -> d.errors().size()).sum();
            out.printf("sim-edge: %d devices finished, %d error(s)%n", done.size(), errors);
            out.flush();
            return ColaEdge.EXIT_OK;
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }
}
