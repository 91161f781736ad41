package org.colaedge.bench;

import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.JobStarted;

/**
 * The receiving JVM of {@code colaedge bench wire}: founds a one-node cluster on the given port and
 * acknowledges every {@code HiddenGradients} it receives with a small {@code JobStarted} carrying
 * the step. Started by {@link WireBench} as a child process; it exits when its parent's stdin
 * closes.
 */
public final class WireSinkNode {

    static final ServiceKey<WireEnvelope> SINK = ServiceKey.create(WireEnvelope.class, "wire-bench-sink");

    private WireSinkNode() {
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        var config = ConfigFactory.load(ConfigFactory.parseString("colaedge.cluster.port = " + port + "\npekko.cluster.roles = [edge]\n"
                + "pekko.loglevel = WARNING\n"));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.setup(ctx -> {
            var sink = ctx.spawn(sink(), "sink");
            ctx.getSystem().receptionist().tell(Receptionist.register(SINK, sink));
            return Behaviors.empty();
        }), "colaedge", config);
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        System.out.println("sink ready on " + cluster.selfMember().address().hostPort());
        System.out.flush();
        while (System.in.read() >= 0) {
            // until the parent closes our stdin
        }
        system.terminate();
    }

    static Behavior<WireEnvelope> sink() {
        return Behaviors.receive((ctx, e) -> {
            long step = e.payload() instanceof HiddenGradients hg ? hg.getStep() : -1;
            e.replyTo().tell(new WireEnvelope("sink", JobStarted.newBuilder().setNextStep(step).build(), ctx.getSelf()));
            return Behaviors.same();
        });
    }
}
