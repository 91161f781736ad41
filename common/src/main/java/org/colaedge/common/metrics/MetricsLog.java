package org.colaedge.common.metrics;

import java.time.Duration;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Logs a one-line summary of a node's non-zero {@link ColaMetrics} counters at a fixed interval
 * ({@code colaedge.metrics.log-interval}); nothing when all are zero.
 */
public final class MetricsLog {

    private enum Tick { INSTANCE }

    private MetricsLog() {
    }

    public static Behavior<Void> create(Duration interval) {
        return Behaviors.<Tick>setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
            ColaMetrics metrics = ColaMetrics.get(ctx.getSystem());
            return Behaviors.receiveMessage(tick -> {
                String line = metrics.summary();
                if (!line.isEmpty()) {
                    ctx.getLog().info("counters: {}", line);
                }
                return Behaviors.same();
            });
        })).unsafeCast();
    }
}
