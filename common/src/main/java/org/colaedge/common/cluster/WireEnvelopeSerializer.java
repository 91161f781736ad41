package org.colaedge.common.cluster;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.WireFormat;
import com.typesafe.config.ConfigUtil;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.colaedge.common.metrics.ColaMetrics;
import org.colaedge.proto.cluster.v1.WireEnvelopeData;

/**
 * Pekko serializer for {@link WireEnvelope}: the bytes are a {@code colaedge.cluster.v1.WireEnvelopeData}
 * (sender id, reply-to ref as its {@link ActorRefResolver} string, payload type name, payload bytes).
 * Registered in {@code reference.conf} with the identifier under
 * {@code pekko.actor.serialization-identifiers}.
 *
 * <p>Anything that cannot be decoded — an unknown manifest (a peer on another format version),
 * bytes that are not an envelope, an unknown payload type, a payload that does not parse, a missing
 * reply-to — is a {@link NotSerializableException} naming the problem. Pekko's remoting logs it and
 * drops that one message; the connection and the receiving actor carry on.
 */
public final class WireEnvelopeSerializer extends SerializerWithStringManifest {

    /** Manifest of format version 1 of the envelope. */
    public static final String ENVELOPE_MANIFEST = "E1";

    private static final int PAYLOAD_FIELD = WireEnvelopeData.PAYLOAD_FIELD_NUMBER;

    private final ExtendedActorSystem system;
    private final int identifier;
    // looked up on first use: serializers are created while the ActorSystem is still starting
    private volatile ActorRefResolver resolver;
    private volatile ColaMetrics metrics;

    public WireEnvelopeSerializer(ExtendedActorSystem system) {
        this.system = system;
        this.identifier = system.settings().config().getInt(ConfigUtil.joinPath(
                "pekko", "actor", "serialization-identifiers", WireEnvelopeSerializer.class.getName()));
    }

    @Override
    public int identifier() {
        return identifier;
    }

    @Override
    public String manifest(Object o) {
        requireEnvelope(o);
        return ENVELOPE_MANIFEST;
    }

    @Override
    public byte[] toBinary(Object o) {
        WireEnvelope envelope = requireEnvelope(o);
        WireEnvelopeData header = WireEnvelopeData.newBuilder()
                .setSenderId(envelope.senderId())
                .setReplyTo(resolver().toSerializationFormat(envelope.replyTo()))
                .setPayloadType(WireTypes.typeName(envelope.payload()))
                .build();
        // header fields, then field 4 written straight from the payload: one copy of a large tensor, not three
        Message payload = envelope.payload();
        int payloadSize = payload.getSerializedSize();
        int size = header.getSerializedSize() + CodedOutputStream.computeTagSize(PAYLOAD_FIELD)
                + CodedOutputStream.computeUInt32SizeNoTag(payloadSize) + payloadSize;
        byte[] bytes = new byte[size];
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        try {
            header.writeTo(out);
            out.writeTag(PAYLOAD_FIELD, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            out.writeUInt32NoTag(payloadSize);
            payload.writeTo(out);
        } catch (IOException e) {
            throw new UncheckedIOException("writing " + envelope + " into a byte array", e); // cannot happen
        }
        out.checkNoSpaceLeft();
        metrics().add("wire.bytes-out", bytes.length);
        return bytes;
    }

    @Override
    public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
        if (!ENVELOPE_MANIFEST.equals(manifest)) {
            throw new NotSerializableException("WireEnvelopeSerializer (id " + identifier + ") cannot read manifest '"
                    + manifest + "'; this node reads '" + ENVELOPE_MANIFEST + "' (a peer on another ColA Edge version?)");
        }
        WireEnvelopeData data;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.enableAliasing(true); // the payload stays a view of `bytes`, which Pekko allocated for this message
            data = WireEnvelopeData.parser().parseFrom(in);
            in.checkLastTagWas(0);
        } catch (InvalidProtocolBufferException e) {
            throw notSerializable("undecodable WireEnvelope (" + bytes.length + " bytes): " + e.getMessage(), e);
        }
        if (data.getReplyTo().isEmpty()) {
            throw new NotSerializableException("WireEnvelope " + data.getPayloadType() + " from '" + data.getSenderId()
                    + "' has no reply-to ActorRef");
        }
        Message payload;
        try {
            payload = WireTypes.parse(data.getPayloadType(), data.getPayload());
        } catch (WireTypes.UnknownTypeException e) {
            throw notSerializable("WireEnvelope from '" + data.getSenderId() + "': " + e.getMessage(), e);
        } catch (InvalidProtocolBufferException e) {
            throw notSerializable("WireEnvelope from '" + data.getSenderId() + "': payload of " + data.getPayload().size()
                    + " bytes is not a valid " + data.getPayloadType() + ": " + e.getMessage(), e);
        }
        ActorRef<WireEnvelope> replyTo = resolver().resolveActorRef(data.getReplyTo());
        metrics().add("wire.bytes-in", bytes.length);
        return new WireEnvelope(data.getSenderId(), payload, replyTo);
    }

    private static WireEnvelope requireEnvelope(Object o) {
        if (o instanceof WireEnvelope envelope) {
            return envelope;
        }
        throw new IllegalArgumentException("WireEnvelopeSerializer serializes only WireEnvelope, not "
                + (o == null ? "null" : o.getClass().getName()));
    }

    private static NotSerializableException notSerializable(String message, Exception cause) {
        NotSerializableException e = new NotSerializableException(message);
        e.initCause(cause);
        return e;
    }

    /** Envelope bytes written and read (with serialize-messages = on, local verification rounds count too). */
    private ColaMetrics metrics() {
        ColaMetrics m = metrics;
        if (m == null) {
            m = ColaMetrics.get(Adapter.toTyped(system));
            metrics = m;
        }
        return m;
    }

    private ActorRefResolver resolver() {
        ActorRefResolver r = resolver;
        if (r == null) {
            r = ActorRefResolver.get(Adapter.toTyped(system));
            resolver = r;
        }
        return r;
    }
}
