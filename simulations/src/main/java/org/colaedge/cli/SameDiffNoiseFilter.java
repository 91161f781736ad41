package org.colaedge.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Drops the "Added differentiated op ..." lines that SameDiff 1.0.0-M2.1 prints to stdout once per
 * graph it differentiates (not through a logger, so no log level silences them). Everything else
 * passes through line by line.
 */
final class SameDiffNoiseFilter extends PrintStream {

    private static final String NOISE = "Added differentiated op ";

    SameDiffNoiseFilter(PrintStream target) {
        super(new LineFilter(target), true, StandardCharsets.UTF_8);
    }

    private static final class LineFilter extends OutputStream {
        private final PrintStream target;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LineFilter(PrintStream target) {
            this.target = target;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                String s = line.toString(StandardCharsets.UTF_8);
                if (!s.startsWith(NOISE)) {
                    target.print(s);
                }
                line.reset();
            }
        }

        @Override
        public synchronized void flush() {
            // A partial line (e.g. a progress bar's carriage-return updates) passes on now, unless it
            // may still turn out to be noise.
            String partial = line.toString(StandardCharsets.UTF_8);
            if (!partial.isEmpty() && !partial.startsWith(NOISE) && !NOISE.startsWith(partial)) {
                target.print(partial);
                line.reset();
            }
            target.flush();
        }
    }
}
