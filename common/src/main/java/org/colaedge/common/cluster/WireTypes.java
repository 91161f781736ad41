package org.colaedge.common.cluster;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.proto.v1.AdapterParameters;
import org.colaedge.proto.v1.AdapterSpec;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.BaseModelFile;
import org.colaedge.proto.v1.Capabilities;
import org.colaedge.proto.v1.Conv2dLayer;
import org.colaedge.proto.v1.ConvGeometry;
import org.colaedge.proto.v1.DenseLayer;
import org.colaedge.proto.v1.DeviceHello;
import org.colaedge.proto.v1.DeviceRegistered;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.FlattenLayer;
import org.colaedge.proto.v1.GlobalAvgPoolLayer;
import org.colaedge.proto.v1.GroupMemberSnapshot;
import org.colaedge.proto.v1.GroupSnapshot;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.DeviceCheckpoint;
import org.colaedge.proto.v1.JobSnapshot;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.JobStarted;
import org.colaedge.proto.v1.JobStatus;
import org.colaedge.proto.v1.LayerGradient;
import org.colaedge.proto.v1.MaxPoolLayer;
import org.colaedge.proto.v1.MemberStatus;
import org.colaedge.proto.v1.ModelLayer;
import org.colaedge.proto.v1.NamedTensor;
import org.colaedge.proto.v1.ReluLayer;
import org.colaedge.proto.v1.Tensor;
import org.colaedge.proto.v1.TrainingBatch;

/**
 * The protobuf message types a {@link WireEnvelope} may carry: every message of package
 * {@code colaedge.v1}, by full protobuf name. An explicit list (no class loading by name from the
 * wire); a test checks it against the {@code .proto} file descriptors so a new message cannot be
 * forgotten.
 */
public final class WireTypes {

    private static final Map<String, Message> BY_NAME = index(List.of(
            Tensor.getDefaultInstance(),
            NamedTensor.getDefaultInstance(),
            ConvGeometry.getDefaultInstance(),
            AdapterSpec.getDefaultInstance(),
            AdapterParameters.getDefaultInstance(),
            Capabilities.getDefaultInstance(),
            DeviceHello.getDefaultInstance(),
            DeviceRegistered.getDefaultInstance(),
            TrainingBatch.getDefaultInstance(),
            LayerGradient.getDefaultInstance(),
            HiddenGradients.getDefaultInstance(),
            AdapterUpdate.getDefaultInstance(),
            JobSpec.getDefaultInstance(),
            JobStarted.getDefaultInstance(),
            org.colaedge.proto.v1.StateRequest.getDefaultInstance(),
            JobStatus.getDefaultInstance(),
            DeviceCheckpoint.getDefaultInstance(),
            ErrorReply.getDefaultInstance(),
            DenseLayer.getDefaultInstance(),
            Conv2dLayer.getDefaultInstance(),
            ReluLayer.getDefaultInstance(),
            MaxPoolLayer.getDefaultInstance(),
            GlobalAvgPoolLayer.getDefaultInstance(),
            FlattenLayer.getDefaultInstance(),
            ModelLayer.getDefaultInstance(),
            BaseModelFile.getDefaultInstance(),
            JobSnapshot.getDefaultInstance(),
            GroupMemberSnapshot.getDefaultInstance(),
            GroupSnapshot.getDefaultInstance(),
            MemberStatus.getDefaultInstance()));

    private WireTypes() {
    }

    /** The default instance of every known type, in declaration order. */
    public static Collection<Message> defaultInstances() {
        return Collections.unmodifiableCollection(BY_NAME.values());
    }

    /** The full protobuf name written on the wire, e.g. {@code colaedge.v1.HiddenGradients}. */
    public static String typeName(Message message) {
        return message.getDescriptorForType().getFullName();
    }

    /** Whether {@code message} is one of the known wire types (same name and same generated class). */
    public static boolean isKnown(Message message) {
        Message known = BY_NAME.get(typeName(message));
        return known != null && known.getClass() == message.getClass();
    }

    /**
     * Parses {@code bytes} as the message named {@code typeName}. The returned message's
     * {@code bytes} fields may share {@code bytes}' memory (no copy of large tensors), so the caller
     * must not change {@code bytes} afterwards.
     *
     * @throws UnknownTypeException if the name is not a known wire type
     * @throws InvalidProtocolBufferException if the bytes are not a valid encoding of it
     */
    public static Message parse(String typeName, ByteString bytes) throws InvalidProtocolBufferException {
        Message prototype = BY_NAME.get(typeName);
        if (prototype == null) {
            throw new UnknownTypeException(typeName);
        }
        CodedInputStream in = bytes.newCodedInput();
        in.enableAliasing(true);
        Message message = prototype.getParserForType().parseFrom(in);
        in.checkLastTagWas(0); // a stray end-group tag would otherwise end the parse early, silently
        return message;
    }

    private static Map<String, Message> index(List<Message> messages) {
        Map<String, Message> byName = new LinkedHashMap<>();
        for (Message m : messages) {
            if (byName.put(typeName(m), m) != null) {
                throw new IllegalStateException("wire type listed twice: " + typeName(m));
            }
        }
        return Collections.unmodifiableMap(byName);
    }

    /** A payload type name this build does not know. */
    public static final class UnknownTypeException extends IllegalArgumentException {

        private final String typeName;

        UnknownTypeException(String typeName) {
            super("unknown wire message type '" + typeName + "'; this build knows " + BY_NAME.keySet());
            this.typeName = typeName;
        }

        public String typeName() {
            return typeName;
        }
    }
}
