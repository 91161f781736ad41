package org.colaedge.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Message;
import com.google.protobuf.StringValue;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.NotSerializableException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.remote.serialization.ProtobufSerializer;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.colaedge.proto.cluster.v1.WireEnvelopeData;
import org.colaedge.proto.v1.ColaEdgeProtocol;
import org.colaedge.proto.v1.DeviceHello;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.Model;
import org.colaedge.proto.v1.Tensor;
import org.colaedge.proto.v1.TrainingBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Wire messages and envelopes through Pekko serialization on one (unjoined) cluster node. */
class WireSerializationTest {

    private static ActorTestKit testKit;
    private static Serialization serialization;

    @BeforeAll
    static void start() {
        testKit = ActorTestKit.create("WireSerializationTest", TestNodes.node(ClusterSettings.EDGE_ROLE));
        serialization = SerializationExtension.get(testKit.system());
    }

    @AfterAll
    static void stop() {
        testKit.shutdownTestKit();
    }

    static Stream<Arguments> everyProtobufMessageType() {
        List<Message> all = new ArrayList<>(WireTypes.defaultInstances());
        all.add(WireEnvelopeData.getDefaultInstance());
        return all.stream().map(m -> Arguments.of(WireTypes.typeName(m), TestNodes.filled(m)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyProtobufMessageType")
    void protobufMessageRoundTripsThroughPekkosProtobufSerializer(String type, Message message) {
        Serializer serializer = serialization.findSerializerFor(message);
        assertThat(serializer).isInstanceOf(ProtobufSerializer.class);
        assertThat(serializer.identifier()).isEqualTo(2);

        byte[] bytes = serialization.serialize(message).get();
        String manifest = Serializers.manifestFor(serializer, message);
        assertThat(manifest).isEqualTo(message.getClass().getName());
        Object back = serialization.deserialize(bytes, serializer.identifier(), manifest).get();
        assertThat(back).isEqualTo(message);
    }

    @Test
    void wireTypesListEveryMessageOfTheProtoFiles() {
        List<String> declared = Stream.of(ColaEdgeProtocol.getDescriptor(), Model.getDescriptor())
                .flatMap(file -> file.getMessageTypes().stream()).map(Descriptor::getFullName).toList();
        List<String> known = WireTypes.defaultInstances().stream().map(WireTypes::typeName).toList();
        assertThat(known).containsExactlyInAnyOrderElementsOf(declared);
    }

    @Test
    void envelopeRoundTripsAndItsReplyToIsAWorkingRef() {
        TestProbe<WireEnvelope> probe = testKit.createTestProbe();
        WireEnvelope envelope = new WireEnvelope("phone-17", TestNodes.filled(TrainingBatch.getDefaultInstance()), probe.ref());

        Serializer serializer = serialization.findSerializerFor(envelope);
        assertThat(serializer).isInstanceOf(WireEnvelopeSerializer.class);
        assertThat(serializer.identifier()).isEqualTo(7301);
        byte[] bytes = serialization.serialize(envelope).get();
        WireEnvelope back = (WireEnvelope) serialization
                .deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, envelope)).get();

        assertThat(back).isEqualTo(envelope);
        assertThat(back.payloadAs(TrainingBatch.class)).isEqualTo(envelope.payload());
        WireEnvelope answer = new WireEnvelope("coord-1", ErrorReply.newBuilder().setCode(ErrorCode.UNKNOWN_JOB).build(),
                testKit.system().ignoreRef());
        back.replyTo().tell(answer);
        assertThat(probe.receiveMessage()).isEqualTo(answer);
    }

    @Test
    void envelopeWithEmptyPayloadAndIgnoreRefRoundTrips() {
        WireEnvelope envelope = new WireEnvelope("", DeviceHello.getDefaultInstance(), testKit.system().ignoreRef());
        byte[] bytes = serialization.serialize(envelope).get();
        WireEnvelope back = (WireEnvelope) serialization.deserialize(bytes, 7301, WireEnvelopeSerializer.ENVELOPE_MANIFEST).get();
        assertThat(back).isEqualTo(envelope);
    }

    @Test
    void envelopeRefusesAPayloadThatIsNotAWireMessage() {
        assertThatThrownBy(() -> new WireEnvelope("x", StringValue.of("hi"), testKit.system().ignoreRef()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("google.protobuf.StringValue")
                .hasMessageContaining("not a wire message type");
    }

    @Test
    void undecodableEnvelopesAreNotSerializableExceptionsNamingTheProblem() throws Exception {
        WireEnvelopeSerializer serializer = (WireEnvelopeSerializer) serialization.serializerFor(WireEnvelope.class);
        String ref = "pekko://WireSerializationTest@127.0.0.1:1/user/x";
        byte[] good = WireEnvelopeData.newBuilder().setSenderId("d").setReplyTo(ref).setPayloadType("colaedge.v1.Tensor")
                .setPayload(Tensor.getDefaultInstance().toByteString()).build().toByteArray();

        assertThatThrownBy(() -> serializer.fromBinary(good, "E2")).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("manifest 'E2'");
        assertThatThrownBy(() -> serializer.fromBinary(new byte[] {0x0A, 0x7F, 0x01}, "E1"))
                .isInstanceOf(NotSerializableException.class).hasMessageContaining("undecodable WireEnvelope (3 bytes)");
        byte[] unknownType = data(ref, "colaedge.v1.NoSuchMessage", ByteString.EMPTY);
        assertThatThrownBy(() -> serializer.fromBinary(unknownType, "E1")).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("unknown wire message type 'colaedge.v1.NoSuchMessage'");
        byte[] badPayload = data(ref, "colaedge.v1.Tensor", ByteString.copyFrom(new byte[] {(byte) 0xFF, (byte) 0xFF}));
        assertThatThrownBy(() -> serializer.fromBinary(badPayload, "E1")).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("payload of 2 bytes is not a valid colaedge.v1.Tensor");
        byte[] noReplyTo = data("", "colaedge.v1.Tensor", ByteString.EMPTY);
        assertThatThrownBy(() -> serializer.fromBinary(noReplyTo, "E1")).isInstanceOf(NotSerializableException.class)
                .hasMessageContaining("no reply-to");

        // what remoting does with it: a Failure to log, the message dropped, nothing thrown
        assertThat(serialization.deserialize(badPayload, 7301, "E1").isFailure()).isTrue();
        assertThat(serialization.deserialize(good, 7301, "E1").get()).isInstanceOf(WireEnvelope.class);
    }

    @Test
    void settingsComeFromReferenceConfAndReachPekko() {
        Config config = testKit.system().settings().config();
        ClusterSettings settings = ClusterSettings.fromConfig(config);
        assertThat(settings).isEqualTo(new ClusterSettings("127.0.0.1", 0, 32L << 20));
        assertThat(config.getBytes("pekko.remote.artery.advanced.maximum-frame-size")).isEqualTo(32L << 20);
        assertThat(config.getBytes("pekko.remote.artery.advanced.maximum-large-frame-size")).isEqualTo(32L << 20);
        assertThat(config.getString("pekko.remote.artery.canonical.hostname")).isEqualTo("127.0.0.1");

        Config bigger = ConfigFactory.load(ConfigFactory.parseString("colaedge.cluster.maximum-message-size = 64 MiB"));
        assertThat(bigger.getBytes("pekko.remote.artery.advanced.maximum-frame-size")).isEqualTo(64L << 20);

        Config lowered = ConfigFactory.load(ConfigFactory.parseString("pekko.remote.artery.advanced.maximum-frame-size = 256 KiB"));
        assertThatThrownBy(() -> ClusterSettings.fromConfig(lowered)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("pekko.remote.artery.advanced.maximum-frame-size is 262144 bytes");
    }

    private static byte[] data(String replyTo, String type, ByteString payload) {
        return WireEnvelopeData.newBuilder().setSenderId("dev-9").setReplyTo(replyTo).setPayloadType(type).setPayload(payload)
                .build().toByteArray();
    }
}
