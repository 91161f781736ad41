package org.colaedge.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.data.Split;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.actors.JobEntity;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.edge.DeviceActor;
import org.colaedge.proto.v1.JobSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code colaedge edge}: an edge node running one device that trains its job on a coordinator cluster. */
@Command(name = "edge", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Run an edge node with one device that fine-tunes through a coordinator cluster.",
        description = {
            "Joins the cluster at --seed, starts (or re-attaches to) the job of --device-id and trains it: the device owns",
            "its data (partition --user of --users), adapters and optimizer; the coordinator computes hidden gradients.",
            "Data, model and adapter options are those of 'train'. Exits when the device has finished its epochs."
        })
final class EdgeCommand implements Callable<Integer> {

    @Option(names = "--seed", required = true, description = "HOST:PORT of a coordinator node.")
    String seed;

    @Option(names = "--device-id", required = true, description = "This device's id (its job is job-<device-id> unless --job-id).")
    String deviceId;

    @Option(names = "--job-id", description = "Job id (default: job-<device-id>).")
    String jobId;

    @Option(names = "--user", defaultValue = "0", description = "Which partition of the data this device owns (default: ${DEFAULT-VALUE}).")
    int user;

    @Option(names = "--checkpoint", description = "Local checkpoint file: written after every adapter update; if it exists, the device resumes from it.")
    java.nio.file.Path checkpoint;

    @Option(names = "--hostname", description = "Address other nodes reach this node at.")
    String hostname;

    @Option(names = "--port", defaultValue = "0", description = "Port to listen on (default: any free port).")
    int port;

    @Mixin
    TrainOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** This device's partition, reshuffled each epoch from the seed; batches are built when submitted. */
    org.colaedge.sim.DeviceBatches batches(Split data, int[] mine, long[] shape) {
        return new org.colaedge.sim.DeviceBatches(data.train(), mine, options.batch, options.epochs, shape, options.seed * 31 + user);
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (user < 0 || user >= options.users) {
            throw new IllegalArgumentException("--user must be in 0.." + (options.users - 1));
        }
        Split data = options.data();
        int[] mine = options.partition(data.train().labels())[user];
        BaseModel architecture = options.baseModel(data.train().classes());
        AdapterPlan plan = new AdapterPlan(options.adapter, options.rank, options.scaling, new ArrayList<>(options.mlpHidden));
        String job = jobId == null ? "job-" + deviceId : jobId;
        JobSpec.Builder js = JobSpec.newBuilder().setJobId(job).setDeviceId(deviceId)
                .setBaseModel(options.baseFile == null ? options.model : options.baseFile.getFileName().toString())
                .setInterval(options.interval).setMerged(options.merge);
        for (Adapter a : plan.create(architecture, options.seed + user).values()) {
            js.addAdapters(org.colaedge.common.wire.WireMapping.toProto(a.spec()));
        }
        org.colaedge.sim.DeviceBatches batches = batches(data, mine, architecture.inputShape());
        long steps = batches.steps();
        ActorSystem<Void> system = Nodes.start(Behaviors.empty(), Nodes.config("edge", hostname, port, seed));
        try {
            Nodes.initJobs(system, java.util.Map.of());
            out.printf("edge %s on %s: device %s, job %s, %d samples, %d steps (%d epochs), adapter %s, I=%d%s%n",
                    Cluster.get(system).selfMember().address().hostPort(), seed, deviceId, job, mine.length, steps, options.epochs,
                    options.adapter, options.interval, options.merge ? ", merged" : "");
            out.flush();
            CompletableFuture<DeviceActor.State> finished = new CompletableFuture<>();
            long samples = (long) batches.samples() * options.epochs;
            long start = System.nanoTime();
            var onFinished = system.systemActorOf(Behaviors.<DeviceActor.State>receiveMessage(s -> {
                finished.complete(s);
                return Behaviors.stopped();
            }), "finished-" + deviceId, org.apache.pekko.actor.typed.Props.empty());
            WireMapping wire = new WireMapping(new TensorCodec(system.settings().config().getBytes("colaedge.cluster.maximum-message-size")));
            var jobRef = ClusterSharding.get(system).entityRefFor(JobEntity.TYPE_KEY, job);
            system.systemActorOf(DeviceActor.create(deviceId, jobRef, js.build(), batches, options.optimizer(steps / Math.max(1, options.interval)),
                    wire, onFinished, checkpoint, org.colaedge.edge.DeviceProfile.IDEAL), "device-" + deviceId, DeviceActor.DISPATCHER);
            DeviceActor.State s = finished.get(Math.max(10, steps) * 60, TimeUnit.SECONDS);
            double secs = (System.nanoTime() - start) / 1e9;
            out.printf("device %s finished: %d steps, adapter version %d, last batch loss %.4f, %d error(s)%s; %.1f s, %.0f samples/s%n",
                    deviceId, s.stepsDone(), s.version(), s.lastLoss(), s.errors().size(), s.errors().isEmpty() ? "" : " " + s.errors(),
                    secs, samples / secs);
            out.flush();
            return s.errors().isEmpty() ? ColaEdge.EXIT_OK : ColaEdge.EXIT_CHECK_FAILED;
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }
}
