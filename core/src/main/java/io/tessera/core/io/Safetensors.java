package io.tessera.core.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes named tensors in the safetensors format (the format of Hugging Face's
 * {@code model.safetensors}), through DJL's {@link NDList} encoding. Writes are atomic.
 *
 * <p>Thread safety: stateless.
 */
public final class Safetensors {

    private Safetensors() {}

    /**
     * Writes tensors under their names. CPU copies are made of device tensors; the inputs are not
     * changed.
     *
     * @param tensors name to tensor, in the order to write
     * @param file the target file
     * @throws IOException if writing fails; no partial file is left
     */
    public static void save(Map<String, NDArray> tensors, Path file) throws IOException {
        Torch.engine();
        NDList list = new NDList(tensors.size());
        try (NDManager tmp = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                Torch.checkSupported(e.getValue().getDataType(), "safetensors save of " + e.getKey());
                NDArray copy = e.getValue().toDevice(ai.djl.Device.cpu(), true);
                copy.attach(tmp);
                copy.setName(e.getKey());
                list.add(copy);
            }
            AtomicFiles.write(file, out -> list.encode(out, NDList.Encoding.SAFETENSORS));
        }
    }

    /**
     * Reads every tensor of a file.
     *
     * @param file a safetensors file
     * @param manager owner of the loaded tensors
     * @return name to tensor, in file order
     * @throws IOException if the file cannot be read or is not safetensors
     */
    public static Map<String, NDArray> load(Path file, NDManager manager) throws IOException {
        Torch.engine();
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "safetensors file not found");
        }
        checkHeader(file);
        NDList list;
        try (InputStream in = Files.newInputStream(file)) {
            list = NDList.decode(manager, in);
        } catch (RuntimeException e) {
            throw new IOException("cannot read " + file + " as safetensors: " + e.getMessage(), e);
        }
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (NDArray a : list) {
            if (a.getName() == null || out.put(a.getName(), a) != null) {
                throw new IOException(file + ": tensor without a name or with a duplicate name '" + a.getName() + "'");
            }
        }
        return out;
    }

    /** Refuses files holding bfloat16 tensors before DJL decodes them (its JNI would abort the JVM). */
    private static void checkHeader(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] len = in.readNBytes(8);
            if (len.length < 8) {
                throw new IOException(file + " is not a safetensors file: shorter than its 8-byte header length");
            }
            long n = java.nio.ByteBuffer.wrap(len).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
            if (n <= 0 || n > 100_000_000L || n > Files.size(file) - 8) {
                throw new IOException(file + " is not a safetensors file: header length " + n + " is impossible for a file of "
                        + Files.size(file) + " bytes");
            }
            String header = new String(in.readNBytes((int) n), java.nio.charset.StandardCharsets.UTF_8);
            if (header.contains("\"BF16\"")) {
                throw new IOException(file + " holds bfloat16 tensors, which DJL 0.35.1's PyTorch JNI cannot represent;"
                        + " convert the file to float32 or float16 first");
            }
        }
    }
}
