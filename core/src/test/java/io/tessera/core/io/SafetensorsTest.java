package io.tessera.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path dir;

    @Test
    void roundTripIsBitExactForEveryStoredType() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            tensors.put("bert.embeddings.word_embeddings.weight", Rng.normal(m, new Shape(7, 5), 0f, 1f, 1));
            tensors.put("bert.embeddings.LayerNorm.bias", Rng.normal(m, new Shape(5), 0f, 1f, 2));
            tensors.put("half", Rng.normal(m, new Shape(3, 3), 0f, 1f, 3).toType(DataType.FLOAT16, false));
            tensors.put("double", Rng.normal(m, new Shape(4), 0f, 1f, 4).toType(DataType.FLOAT64, false));
            tensors.put("ids", m.arange(0, 10, 1, DataType.INT64));
            Path file = dir.resolve("model.safetensors");
            Safetensors.save(tensors, file);
            String header = new String(Files.readAllBytes(file), 8, 200, StandardCharsets.US_ASCII);
            assertTrue(header.startsWith("{"), "safetensors starts with an 8-byte length then a JSON header: " + header);
            Map<String, NDArray> back = Safetensors.load(file, m);
            assertEquals(tensors.keySet(), back.keySet());
            for (String k : tensors.keySet()) {
                NDArray a = tensors.get(k);
                NDArray b = back.get(k);
                assertEquals(a.getShape(), b.getShape(), k);
                assertEquals(a.getDataType(), b.getDataType(), k);
                assertArrayEquals(a.toByteArray(), b.toByteArray(), k + " bytes differ");
            }
            assertEquals(1, Files.list(dir).count(), "no temporary file is left behind");
        }
    }

    @Test
    void aFailedWriteLeavesThePreviousFileIntact() throws IOException {
        Path file = dir.resolve("ckpt.bin");
        AtomicFiles.write(file, "old".getBytes(StandardCharsets.UTF_8));
        assertThrows(IOException.class, () -> AtomicFiles.write(file, out -> {
            out.write("partial new content".getBytes(StandardCharsets.UTF_8));
            throw new IOException("simulated crash mid-write");
        }));
        assertEquals("old", Files.readString(file));
        assertEquals(1, Files.list(dir).count(), "the temporary file was removed");
    }

    @Test
    void bfloat16FilesAndTruncatedFilesAreRefusedWithoutTouchingDjl() throws IOException {
        String header = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + header.length() + 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length()).put(header.getBytes(StandardCharsets.US_ASCII)).putInt(0);
        Path bf16 = dir.resolve("bf16.safetensors");
        Files.write(bf16, b.array());
        Path truncated = dir.resolve("short.safetensors");
        Files.write(truncated, new byte[] {1, 2, 3});
        try (NDManager m = NDManager.newBaseManager()) {
            IOException e = assertThrows(IOException.class, () -> Safetensors.load(bf16, m));
            assertTrue(e.getMessage().contains("bfloat16"), e.getMessage());
            assertThrows(IOException.class, () -> Safetensors.load(truncated, m));
        }
    }

    @Test
    void missingFileNamesThePath() {
        try (NDManager m = NDManager.newBaseManager()) {
            IOException e = assertThrows(IOException.class, () -> Safetensors.load(dir.resolve("nope.safetensors"), m));
            assertTrue(e.getMessage().contains("nope.safetensors"), e.getMessage());
        }
    }
}
