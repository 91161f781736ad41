package org.colaedge.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.colaedge.proto.v1.ErrorCode;
import org.junit.jupiter.api.Test;

class ColaMetricsTest {

    @Test
    void countersAreCreatedOnFirstUseAndSummarisedWhenNonZero() {
        ColaMetrics m = ColaMetrics.detached();
        assertThat(m.summary()).isEmpty();
        m.increment("jobs.updates-applied");
        m.add("jobs.rows", 64);
        m.add("jobs.rows", 36);
        m.error(ErrorCode.NON_FINITE_VALUES);
        m.add("snapshots.corrupt", 0);
        assertThat(m.get("jobs.rows")).isEqualTo(100);
        assertThat(m.get("never.touched")).isZero();
        assertThat(m.snapshot()).isEqualTo(Map.of("errors.NON_FINITE_VALUES", 1L, "jobs.rows", 100L,
                "jobs.updates-applied", 1L, "snapshots.corrupt", 0L));
        assertThat(m.summary()).isEqualTo("errors.NON_FINITE_VALUES=1 jobs.rows=100 jobs.updates-applied=1");
    }

    @Test
    void theLogLineListsTheNonZeroCountersAtTheInterval() {
        ActorTestKit kit = ActorTestKit.create("log", ConfigFactory.parseString("pekko.actor.provider = local"));
        try {
            ColaMetrics.get(kit.system()).add("jobs.rows", 12);
            ColaMetrics.get(kit.system()).add("jobs.idle", 0);
            org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit.info("counters: jobs.rows=12").expect(kit.system(), () -> {
                kit.spawn(MetricsLog.create(java.time.Duration.ofMillis(100)));
                return null;
            });
        } finally {
            kit.shutdownTestKit();
        }
    }

    @Test
    void oneSetOfCountersPerActorSystem() {
        var config = ConfigFactory.parseString("pekko.actor.provider = local");
        ActorTestKit a = ActorTestKit.create("a", config);
        ActorTestKit b = ActorTestKit.create("b", config);
        try {
            ColaMetrics.get(a.system()).increment("x");
            assertThat(ColaMetrics.get(a.system()).get("x")).isEqualTo(1);
            assertThat(ColaMetrics.get(b.system()).get("x")).isZero();
        } finally {
            a.shutdownTestKit();
            b.shutdownTestKit();
        }
    }
}
