package org.colaedge.coordinator.actors;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.metrics.ColaMetrics;

/**
 * The devices attached to the jobs of one coordinator node (one registry per node, local). A job
 * tells it when its device attaches; the registry death-watches the device's reply-to ref (for a
 * remote device, Pekko's remote death watch: its actor stopped, or its node crashed and was
 * downed, or left) and tells the job {@link JobEntity.DeviceAway} when it terminates. It keeps, per
 * job, the device id, protocol version, attached-since and last-seen times.
 */
public final class DeviceRegistry extends AbstractBehavior<DeviceRegistry.Command> {

    public sealed interface Command extends NoSerializationVerificationNeeded { }

    /** {@code device} (its reply-to ref) now drives job {@code jobId}; {@code job} is told when it goes away. */
    public record DeviceAttached(String jobId, String deviceId, int protocolVersion, ActorRef<WireEnvelope> device,
                                 ActorRef<JobEntity.DeviceAway> job) implements Command { }

    /** The job heard from its device (an update): last-seen is now. */
    public record DeviceSeen(String jobId) implements Command { }

    /** The job (this incarnation, {@code job}) stopped: forget its device. */
    public record JobStopped(String jobId, ActorRef<JobEntity.DeviceAway> job) implements Command { }

    public record GetDevices(ActorRef<Devices> replyTo) implements Command { }

    public record Devices(List<DeviceInfo> devices) implements NoSerializationVerificationNeeded { }

    public record DeviceInfo(String deviceId, String jobId, int protocolVersion, Instant attachedSince, Instant lastSeen) { }

    private record DeviceTerminated(ActorRef<WireEnvelope> device) implements Command { }

    private record Attachment(DeviceAttached attached, Instant since, Instant lastSeen) {
        Attachment seen() {
            return new Attachment(attached, since, Instant.now());
        }
    }

    private final Map<String, Attachment> byJob = new LinkedHashMap<>();
    /** Watched device refs and the jobs each drives (a ref is watched once, however many jobs). */
    private final Map<ActorRef<WireEnvelope>, Set<String>> watched = new HashMap<>();
    private final ColaMetrics metrics;

    public static Behavior<Command> create() {
        return Behaviors.setup(DeviceRegistry::new);
    }

    private DeviceRegistry(ActorContext<Command> context) {
        super(context);
        this.metrics = ColaMetrics.get(context.getSystem());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(DeviceAttached.class, this::onAttached)
                .onMessage(DeviceSeen.class, this::onSeen)
                .onMessage(JobStopped.class, this::onJobStopped)
                .onMessage(DeviceTerminated.class, this::onTerminated)
                .onMessage(GetDevices.class, this::onGetDevices)
                .build();
    }

    private Behavior<Command> onAttached(DeviceAttached a) {
        forget(a.jobId());
        Instant now = Instant.now();
        byJob.put(a.jobId(), new Attachment(a, now, now));
        Set<String> jobs = watched.computeIfAbsent(a.device(), k -> new HashSet<>());
        if (jobs.isEmpty()) {
            getContext().watchWith(a.device(), new DeviceTerminated(a.device()));
        }
        jobs.add(a.jobId());
        metrics.increment("devices.attached");
        return this;
    }

    private Behavior<Command> onSeen(DeviceSeen s) {
        byJob.computeIfPresent(s.jobId(), (k, v) -> v.seen());
        return this;
    }

    private Behavior<Command> onJobStopped(JobStopped s) {
        Attachment a = byJob.get(s.jobId());
        if (a != null && a.attached().job().equals(s.job())) {
            forget(s.jobId());
        }
        return this;
    }

    private Behavior<Command> onTerminated(DeviceTerminated t) {
        Set<String> jobs = watched.remove(t.device());
        if (jobs == null) {
            return this;
        }
        for (String jobId : jobs) {
            Attachment a = byJob.remove(jobId);
            getContext().getLog().info("device {} of job {} went away ({} attached since {})", a.attached().deviceId(), jobId,
                    t.device().path().address(), a.since());
            metrics.increment("devices.away");
            a.attached().job().tell(new JobEntity.DeviceAway(a.attached().deviceId(), t.device()));
        }
        return this;
    }

    private Behavior<Command> onGetDevices(GetDevices g) {
        List<DeviceInfo> out = new ArrayList<>();
        byJob.forEach((job, a) -> out.add(new DeviceInfo(a.attached().deviceId(), job, a.attached().protocolVersion(), a.since(), a.lastSeen())));
        g.replyTo().tell(new Devices(List.copyOf(out)));
        return this;
    }

    private void forget(String jobId) {
        Attachment old = byJob.remove(jobId);
        if (old == null) {
            return;
        }
        Set<String> jobs = watched.get(old.attached().device());
        if (jobs != null && jobs.remove(jobId) && jobs.isEmpty()) {
            watched.remove(old.attached().device());
            getContext().unwatch(old.attached().device());
        }
    }
}
