package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import io.tessera.parallel.comm.Communicator;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects named fp32 tensors from every pipeline stage on stage 0, over the pipeline group's
 * communicator: what a checkpoint or an export of a model held in stages needs, so that world rank 0
 * still writes the one layout-independent file (no shared file system assumed).
 *
 * <pre>
 *   stage s > 0 sends:  int64 [header bytes]   int32 [header, UTF-8 JSON {names, shapes}, padded to 4 bytes]   each tensor, fp32
 *   stage 0 receives stage 1, 2, … in order and keeps the first tensor of each name (the tied copy of
 *   the last stage is the same tensor as stage 0's reference)
 * </pre>
 *
 * <p>Thread safety: stateless; collective over the pipeline group (every stage calls it).
 */
final class StageTensors {

    private static final Gson GSON = new Gson();

    private record Header(List<String> names, List<long[]> shapes) {}

    private StageTensors() {}

    /**
     * @param pipeline the pipeline group (group rank = stage)
     * @param mine this stage's tensors, fp32
     * @param owner manager of the received tensors
     * @return on stage 0 every stage's tensors in stage order (first of each name kept); elsewhere empty
     */
    static Map<String, NDArray> gatherToFirst(Communicator pipeline, Map<String, NDArray> mine, NDManager owner) {
        if (pipeline.size() == 1) {
            return mine;
        }
        if (pipeline.rank() != 0) {
            List<long[]> shapes = new ArrayList<>();
            mine.values().forEach(a -> shapes.add(a.getShape().getShape()));
            byte[] json = GSON.toJson(new Header(List.copyOf(mine.keySet()), shapes)).getBytes(StandardCharsets.UTF_8);
            try (NDManager scratch = owner.newSubManager()) {
                pipeline.send(scratch.create(new long[] {json.length}), 0);
                pipeline.send(scratch.create(packed(json)), 0);
                for (NDArray a : mine.values()) {
                    pipeline.send(a.getDataType() == DataType.FLOAT32 ? a : a.toType(DataType.FLOAT32, false), 0);
                }
            }
            return Map.of();
        }
        Map<String, NDArray> all = new LinkedHashMap<>(mine);
        for (int stage = 1; stage < pipeline.size(); stage++) {
            NDArray length = owner.zeros(new Shape(1), DataType.INT64);
            pipeline.recv(length, stage);
            int bytes = (int) length.getLong(0);
            NDArray words = owner.zeros(new Shape((bytes + 3) / 4), DataType.INT32);
            pipeline.recv(words, stage);
            ByteBuffer b = ByteBuffer.allocate((int) words.size() * 4);
            for (int w : words.toIntArray()) {
                b.putInt(w);
            }
            Header h = GSON.fromJson(new String(b.array(), 0, bytes, StandardCharsets.UTF_8), Header.class);
            for (int i = 0; i < h.names().size(); i++) {
                NDArray a = owner.zeros(new Shape(h.shapes().get(i)), DataType.FLOAT32);
                pipeline.recv(a, stage);
                all.putIfAbsent(h.names().get(i), a);
            }
        }
        return all;
    }

    private static int[] packed(byte[] bytes) {
        ByteBuffer b = ByteBuffer.allocate((bytes.length + 3) / 4 * 4);
        b.put(bytes);
        b.position(0); // the padding bytes stay 0
        int[] out = new int[b.capacity() / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getInt();
        }
        return out;
    }
}
