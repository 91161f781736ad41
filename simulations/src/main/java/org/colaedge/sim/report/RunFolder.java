package org.colaedge.sim.report;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Objects;

/**
 * The folder one simulation run writes into: {@code <base>/<yyyyMMdd-HHmmss>-<scenario>}, made unique with a
 * {@code -2}, {@code -3}, ... suffix when a run of the same scenario started in the same second. The scenario name
 * is made file-name safe: runs of characters other than letters, digits, {@code .}, {@code _} and {@code -} become
 * one {@code -}.
 */
public final class RunFolder {

    /** File name of the resolved configuration written by {@link #writeResolvedConfig}. */
    public static final String CONFIG_FILE = "config.conf";

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final Path dir;

    private RunFolder(Path dir) {
        this.dir = dir.normalize();
    }

    /** Creates the folder of a run of {@code scenario} starting now (local time), and {@code base} if missing. */
    public static RunFolder create(Path base, String scenario) throws IOException {
        return create(base, scenario, Clock.systemDefaultZone());
    }

    /** Creates the folder of a run of {@code scenario} starting at {@code clock}'s now, in the clock's zone. */
    public static RunFolder create(Path base, String scenario, Clock clock) throws IOException {
        String name = LocalDateTime.now(clock).format(STAMP) + "-" + safeName(scenario);
        Files.createDirectories(base);
        for (int attempt = 1; ; attempt++) {
            Path candidate = base.resolve(attempt == 1 ? name : name + "-" + attempt);
            try {
                return new RunFolder(Files.createDirectory(candidate));
            } catch (FileAlreadyExistsException taken) {
                // Another run of this scenario started in the same second: try the next suffix.
            }
        }
    }

    /** {@code scenario} as a file-name part; rejects names with no letter, digit, '.', '_' or '-' left. */
    static String safeName(String scenario) {
        Objects.requireNonNull(scenario, "scenario");
        String safe = scenario.strip().replaceAll("[^A-Za-z0-9._-]+", "-").replaceAll("^-+|-+$", "");
        if (safe.isEmpty() || safe.chars().allMatch(c -> c == '.')) {
            throw new IllegalArgumentException("scenario name '" + scenario + "' gives no usable folder name");
        }
        return safe;
    }

    /** The run folder. */
    public Path dir() {
        return dir;
    }

    /** A file or folder inside the run folder; {@code name} must be relative and stay inside it. */
    public Path path(String name) {
        Objects.requireNonNull(name, "name");
        Path relative = dir.getFileSystem().getPath(name);
        Path resolved = dir.resolve(relative).normalize();
        if (name.isBlank() || relative.isAbsolute() || !resolved.startsWith(dir) || resolved.equals(dir)) {
            throw new IllegalArgumentException("'" + name + "' is not a name inside the run folder " + dir);
        }
        return resolved;
    }

    /** Writes {@code config} as HOCON without origin comments to {@value #CONFIG_FILE}; returns that file. */
    public Path writeResolvedConfig(Config config) throws IOException {
        String text = config.root().render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
        return Files.writeString(path(CONFIG_FILE), text, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return dir.toString();
    }
}
