package org.colaedge.common.cluster;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.stream.Collectors;

/** Configuration of test nodes and sample messages for the cluster tests. */
final class TestNodes {

    private TestNodes() {
    }

    /**
     * A node on loopback, any free port, with the given cluster roles. Every message sent to a local
     * actor also goes through its serializer ({@code serialize-messages}). Loaded with
     * {@code ConfigFactory.load(overrides)} so that reference.conf's substitutions see the port.
     */
    static Config node(String... roles) {
        String roleList = List.of(roles).stream().map(r -> '"' + r + '"').collect(Collectors.joining(", "));
        return ConfigFactory.load(ConfigFactory.parseString(String.join("\n",
                "colaedge.cluster.port = 0",
                "pekko.actor.serialize-messages = on",
                "pekko.cluster.roles = [" + roleList + "]",
                // several ActorSystems in one JVM: one JMX bean each
                "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on")));
    }

    /** {@code prototype}'s type with every field set (repeated fields twice), nested messages to depth 3. */
    static Message filled(Message prototype) {
        Message.Builder b = prototype.newBuilderForType();
        fill(b, 0);
        return b.build();
    }

    private static void fill(Message.Builder b, int depth) {
        for (FieldDescriptor f : b.getDescriptorForType().getFields()) {
            int repeats = f.isRepeated() ? 2 : 1;
            for (int i = 0; i < repeats; i++) {
                Object v = sample(b, f, depth, i);
                if (v == null) {
                    continue;
                }
                if (f.isRepeated()) {
                    b.addRepeatedField(f, v);
                } else {
                    b.setField(f, v);
                }
            }
        }
    }

    private static Object sample(Message.Builder b, FieldDescriptor f, int depth, int i) {
        int n = f.getNumber() + 10 * i;
        return switch (f.getJavaType()) {
            case INT -> 3 + n;
            case LONG -> (1L << 40) + n;
            case FLOAT -> 0.25f + n;
            case DOUBLE -> 0.5 + n;
            case BOOLEAN -> true;
            case STRING -> f.getName() + "-" + i;
            case BYTE_STRING -> ByteString.copyFrom(new byte[] {(byte) n, 0, (byte) 0xFF, (byte) i});
            case ENUM -> f.getEnumType().getValues().get(f.getEnumType().getValues().size() - 1);
            case MESSAGE -> {
                if (depth >= 3) {
                    yield null;
                }
                Message.Builder nested = b.newBuilderForField(f);
                fill(nested, depth + 1);
                yield nested.build();
            }
        };
    }
}
