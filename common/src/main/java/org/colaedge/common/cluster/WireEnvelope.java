package org.colaedge.common.cluster;

import com.google.protobuf.Message;
import java.util.Objects;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * A wire-protocol message travelling between actors, plus the actor to answer to: the one message
 * type that crosses a process boundary carrying a typed {@link ActorRef}. A {@code .proto} cannot
 * hold an ActorRef, so {@link WireEnvelopeSerializer} writes the ref as its
 * {@code ActorRefResolver} string and the payload as protobuf bytes with its type name.
 *
 * <p>Answers are envelopes too, so a conversation can go on (a device sends a {@code TrainingBatch}
 * with its own ref; the job answers {@code HiddenGradients} with the job's ref, where the device
 * sends its {@code AdapterUpdate}). When no answer is expected, pass {@code system.ignoreRef()}.
 *
 * @param senderId who sent it: a device id, or a coordinator node or job id (never null; may be empty)
 * @param payload  a message of package {@code colaedge.v1} (see {@link WireTypes})
 * @param replyTo  where answers go
 */
public record WireEnvelope(String senderId, Message payload, ActorRef<WireEnvelope> replyTo) {

    public WireEnvelope {
        Objects.requireNonNull(senderId, "senderId");
        Objects.requireNonNull(payload, "payload");
        Objects.requireNonNull(replyTo, "replyTo");
        if (!WireTypes.isKnown(payload)) {
            throw new IllegalArgumentException("payload " + payload.getClass().getName() + " ("
                    + WireTypes.typeName(payload) + ") is not a wire message type; see WireTypes");
        }
    }

    /** The payload as {@code type}; throws {@link ClassCastException} naming both types if it is another. */
    public <T extends Message> T payloadAs(Class<T> type) {
        if (!type.isInstance(payload)) {
            throw new ClassCastException("payload is " + WireTypes.typeName(payload) + ", not " + type.getSimpleName());
        }
        return type.cast(payload);
    }

    @Override
    public String toString() {
        // never print a payload: a HiddenGradients is megabytes of tensor data
        return "WireEnvelope[" + WireTypes.typeName(payload) + " from '" + senderId + "', " + payload.getSerializedSize()
                + " bytes, replyTo=" + replyTo.path() + "]";
    }
}
