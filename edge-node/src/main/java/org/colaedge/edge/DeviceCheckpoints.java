package org.colaedge.edge;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.learning.GradientLearner;
import org.colaedge.common.wire.ChecksummedFile;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.proto.v1.DeviceCheckpoint;
import org.colaedge.proto.v1.NamedTensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A device's local checkpoint: adapters, optimizer state and counters of one job, as a
 * {@code colaedge.v1.DeviceCheckpoint} in a {@link ChecksummedFile} ("CECK"). Written after every
 * adapter update, so a restarted device resumes from its last update and loses only the steps it
 * had buffered towards the next one.
 */
public final class DeviceCheckpoints {

    private static final String MAGIC = "CECK";
    private static final TensorCodec CODEC = new TensorCodec(Long.MAX_VALUE / 4);

    private DeviceCheckpoints() {
    }

    public static void save(Path file, String jobId, String deviceId, GradientLearner learner, long stepsDone) throws IOException {
        DeviceCheckpoint.Builder b = DeviceCheckpoint.newBuilder().setJobId(jobId).setDeviceId(deviceId)
                .setVersion(learner.version()).setIteration(learner.iteration()).setStepsDone(stepsDone);
        for (Adapter a : learner.adapters().values()) {
            for (Map.Entry<String, INDArray> p : a.paramViews().entrySet()) {
                b.addParameters(NamedTensor.newBuilder().setName(a.layer() + "/" + p.getKey()).setTensor(CODEC.encode(p.getValue())));
            }
            INDArray state = learner.updaterState(a.layer());
            if (state != null) {
                b.addOptimizerState(NamedTensor.newBuilder().setName(a.layer()).setTensor(CODEC.encode(state)));
            }
        }
        ChecksummedFile.write(file, MAGIC, b.build().toByteArray());
    }

    /**
     * Restores {@code learner} from {@code file} if it exists and belongs to this job; returns the
     * steps done (0 when there is no checkpoint). A checkpoint of another job or with other shapes
     * is refused with an IOException naming the mismatch; nothing is changed then.
     */
    public static long restore(Path file, String jobId, GradientLearner learner) throws IOException {
        if (file == null || !Files.exists(file)) {
            return 0;
        }
        DeviceCheckpoint c = DeviceCheckpoint.parseFrom(ChecksummedFile.read(file, MAGIC));
        if (!c.getJobId().equals(jobId)) {
            throw new IOException(file + " is a checkpoint of job '" + c.getJobId() + "', not '" + jobId + "'");
        }
        Map<String, INDArray> values = new java.util.HashMap<>();
        for (NamedTensor t : c.getParametersList()) {
            values.put("p:" + t.getName(), CODEC.decode(t.getTensor()));
        }
        for (NamedTensor t : c.getOptimizerStateList()) {
            values.put("s:" + t.getName(), CODEC.decode(t.getTensor()));
        }
        for (Adapter a : learner.adapters().values()) {
            for (Map.Entry<String, INDArray> p : a.paramViews().entrySet()) {
                INDArray v = values.get("p:" + a.layer() + "/" + p.getKey());
                if (v == null || !Arrays.equals(v.shape(), p.getValue().shape())) {
                    throw new IOException(file + ": parameter " + a.layer() + "/" + p.getKey() + " is missing or has another shape");
                }
            }
            INDArray state = learner.updaterState(a.layer());
            INDArray saved = values.get("s:" + a.layer());
            if ((state == null) != (saved == null) || (state != null && state.length() != saved.length())) {
                throw new IOException(file + ": optimizer state of layer " + a.layer() + " does not fit this optimizer");
            }
        }
        for (Adapter a : learner.adapters().values()) {
            a.paramViews().forEach((name, view) -> view.assign(values.get("p:" + a.layer() + "/" + name)));
            INDArray state = learner.updaterState(a.layer());
            if (state != null) {
                state.assign(values.get("s:" + a.layer()).reshape(state.shape()));
            }
        }
        learner.restoreCounters(c.getVersion(), c.getIteration());
        return c.getStepsDone();
    }
}
