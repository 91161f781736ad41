package org.colaedge.common.cluster;

import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.TrainingBatch;

/**
 * A stand-in for the coordinator's Job entity in the sharding smoke test: answers a
 * {@code TrainingBatch} with an (empty) {@code HiddenGradients} for the same step, anything else
 * with an {@code ErrorReply}. The answer's sender id names the node the entity runs on.
 */
final class JobEntity extends AbstractBehavior<WireEnvelope> {

    static final EntityTypeKey<WireEnvelope> TYPE_KEY = EntityTypeKey.create(WireEnvelope.class, "Job");

    private final String jobId;
    private final String node;

    static Behavior<WireEnvelope> create(String jobId) {
        return Behaviors.setup(ctx -> new JobEntity(ctx, jobId));
    }

    private JobEntity(ActorContext<WireEnvelope> context, String jobId) {
        super(context);
        this.jobId = jobId;
        this.node = Cluster.get(context.getSystem()).selfMember().address().toString();
    }

    @Override
    public Receive<WireEnvelope> createReceive() {
        return newReceiveBuilder().onMessage(WireEnvelope.class, this::onEnvelope).build();
    }

    private Behavior<WireEnvelope> onEnvelope(WireEnvelope envelope) {
        if (envelope.payload() instanceof TrainingBatch batch) {
            HiddenGradients answer = HiddenGradients.newBuilder().setJobId(jobId).setStep(batch.getStep())
                    .setDeviceId(batch.getDeviceId()).setSamples(batch.getInputs().getShapeCount() == 0 ? 0 : batch.getInputs().getShape(0))
                    .build();
            envelope.replyTo().tell(new WireEnvelope(node, answer, getContext().getSelf()));
        } else {
            ErrorReply error = ErrorReply.newBuilder().setCode(ErrorCode.MALFORMED_MESSAGE).setJobId(jobId)
                    .setMessage("a Job takes TrainingBatch, not " + WireTypes.typeName(envelope.payload())).build();
            envelope.replyTo().tell(new WireEnvelope(node, error, getContext().getSelf()));
        }
        return this;
    }
}
