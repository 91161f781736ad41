package org.colaedge.common.wire;

import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;

/**
 * A message that cannot be accepted, with the wire {@link ErrorCode} to answer it with. The
 * message names what was wrong.
 */
public final class ProtocolException extends RuntimeException {

    private final ErrorCode code;

    public ProtocolException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public ProtocolException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }

    /** The error reply for a peer. */
    public ErrorReply toReply(String jobId, String deviceId, long step) {
        return ErrorReply.newBuilder().setCode(code).setMessage(getMessage())
                .setJobId(jobId == null ? "" : jobId).setDeviceId(deviceId == null ? "" : deviceId).setStep(step).build();
    }
}
