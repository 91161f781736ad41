package org.colaedge.common.metrics;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.colaedge.proto.v1.ErrorCode;

/**
 * Named counters of one ActorSystem (a Pekko {@link Extension}): what the actors of a node did and
 * what they refused. Counters are {@link LongAdder}s created on first use, so counting is cheap and
 * safe from any actor or thread. Names are dotted: {@code errors.<ErrorCode>},
 * {@code jobs.batches-computed}, {@code snapshots.written}, ... (docs/operations.md lists them).
 */
public final class ColaMetrics implements Extension {

    private static final Id ID = new Id();

    private final ConcurrentHashMap<String, LongAdder> counters = new ConcurrentHashMap<>();

    /** The counters of {@code system}. */
    public static ColaMetrics get(ActorSystem<?> system) {
        return ID.apply(system);
    }

    /** A fresh set of counters outside any ActorSystem (tests, tools). */
    public static ColaMetrics detached() {
        return new ColaMetrics();
    }

    private ColaMetrics() {
    }

    public void increment(String name) {
        add(name, 1);
    }

    public void add(String name, long n) {
        counters.computeIfAbsent(name, k -> new LongAdder()).add(n);
    }

    /** Counts one refusal or error of {@code code}: counter {@code errors.<code>}. */
    public void error(ErrorCode code) {
        increment("errors." + code.name());
    }

    /** The current value of one counter (0 if it was never touched). */
    public long get(String name) {
        LongAdder a = counters.get(name);
        return a == null ? 0 : a.sum();
    }

    /** All counters by name, sorted. */
    public SortedMap<String, Long> snapshot() {
        SortedMap<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /** One line of the non-zero counters, {@code name=value} separated by spaces; empty if all are zero. */
    public String summary() {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<String, Long> e : snapshot().entrySet()) {
            if (e.getValue() != 0) {
                s.append(s.length() == 0 ? "" : " ").append(e.getKey()).append('=').append(e.getValue());
            }
        }
        return s.toString();
    }

    private static final class Id extends ExtensionId<ColaMetrics> {
        @Override
        public ColaMetrics createExtension(ActorSystem<?> system) {
            return new ColaMetrics();
        }
    }
}
