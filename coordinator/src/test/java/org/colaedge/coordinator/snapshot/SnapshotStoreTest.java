package org.colaedge.coordinator.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.wire.ChecksummedFile;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.proto.v1.JobSnapshot;
import org.colaedge.proto.v1.JobSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

class SnapshotStoreTest {

    @TempDir
    Path dir;

    private static JobSnapshot snapshot(String jobId, long version) {
        return JobSnapshot.newBuilder().setSpec(JobSpec.newBuilder().setJobId(jobId).setBaseModel("mlp")).setAdapterVersion(version)
                .setNextStep(version * 2).build();
    }

    @Test
    void aSnapshotIsReplacedAtomicallyAndReadBack() throws Exception {
        SnapshotStore store = SnapshotStore.at(dir);
        assertThat(store.read(SnapshotStore.JOB, "job/1 ü")).isEmpty();
        store.write(SnapshotStore.JOB, "job/1 ü", snapshot("job/1 ü", 3));
        store.write(SnapshotStore.JOB, "job/1 ü", snapshot("job/1 ü", 4));
        assertThat(store.read(SnapshotStore.JOB, "job/1 ü")).contains(snapshot("job/1 ü", 4));
        // one file per id, under jobs/, no temporary file left; the id cannot escape the folder
        try (var files = Files.list(dir.resolve("jobs"))) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("job%2F1+%C3%BC.snap");
        }
        assertThat(SnapshotStore.at(null).enabled()).isFalse();
        assertThat(SnapshotStore.at(null).read(SnapshotStore.JOB, "x")).isEmpty();
    }

    @Test
    void aCorruptSnapshotIsReportedAndMovedAside() throws Exception {
        SnapshotStore store = SnapshotStore.at(dir);
        store.write(SnapshotStore.JOB, "j", snapshot("j", 2));
        Path file = store.file(SnapshotStore.JOB, "j");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 0x40; // one flipped bit
        Files.write(file, bytes);
        assertThatThrownBy(() -> store.read(SnapshotStore.JOB, "j"))
                .isInstanceOf(SnapshotStore.CorruptSnapshotException.class)
                .hasMessageContaining("SHA-256 does not match").hasMessageContaining(".snap.corrupt");
        assertThat(file).doesNotExist();
        assertThat(file.resolveSibling("j.snap.corrupt")).exists();
        assertThat(store.read(SnapshotStore.JOB, "j")).isEmpty(); // next start: as if there were none

        // a checksummed file whose payload is not a JobSnapshot
        ChecksummedFile.write(file, "CEJS", new byte[] {(byte) 0xff, 1, 2, 3});
        assertThatThrownBy(() -> store.read(SnapshotStore.JOB, "j")).isInstanceOf(SnapshotStore.CorruptSnapshotException.class)
                .hasMessageContaining("not a CEJS snapshot");
        // another kind of file under the name (wrong magic)
        ChecksummedFile.write(file, "CECK", snapshot("j", 1).toByteArray());
        assertThatThrownBy(() -> store.read(SnapshotStore.JOB, "j")).hasMessageContaining("wrong magic");
        assertThat(file).doesNotExist();
    }

    /** The size the issue names: Linear adapters on the paper's MLP base (784-128-256-10), ~540 KB of parameters. */
    @Test
    void writingTheSnapshotOfMlpLinearAdaptersTakesMilliseconds() throws Exception {
        BaseModel mlp = BaseModel.mlp(new long[] {784}, List.of(128, 256), 10, 1);
        WireMapping wire = new WireMapping(new TensorCodec());
        JobSnapshot.Builder b = JobSnapshot.newBuilder().setSpec(JobSpec.newBuilder().setJobId("big").setBaseModel("mlp"))
                .setAdapterVersion(7).setNextStep(7);
        long params = 0;
        for (Adapter a : new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of()).create(mlp, 3).values()) {
            a.setParams(Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, a.params().shape()));
            params += a.numParams();
            b.addAdapters(wire.parameterUpdate("big", "d", a, 7, 6, 0));
        }
        JobSnapshot s = b.build();
        SnapshotStore store = SnapshotStore.at(dir);
        long[] micros = new long[40];
        for (int i = 0; i < micros.length; i++) {
            long t0 = System.nanoTime();
            store.write(SnapshotStore.JOB, "big", s);
            micros[i] = (System.nanoTime() - t0) / 1000;
        }
        Arrays.sort(micros);
        long bytes = Files.size(store.file(SnapshotStore.JOB, "big"));
        System.out.printf("snapshot of MLP Linear adapters: %d parameters, %d bytes; write median %d us, max %d us%n", params, bytes,
                micros[micros.length / 2], micros[micros.length - 1]);
        assertThat(bytes).isGreaterThan(500_000);
        assertThat(store.read(SnapshotStore.JOB, "big")).contains(s);
        assertThat(micros[micros.length / 2]).as("median write, microseconds").isLessThan(50_000);
    }
}
