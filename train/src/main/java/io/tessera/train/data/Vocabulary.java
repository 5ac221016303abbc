package io.tessera.train.data;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A WordPiece vocabulary: the token of every id, and the ids of BERT's five special tokens.
 *
 * <p>File format ({@code vocab.txt}): UTF-8, one token per line, the line number counted
 * from 0 is the id, {@code \n} line ends. This is the format of Google's BERT releases, read
 * by Hugging Face's {@code BertTokenizer} and by DJL's {@code BertFullTokenizer} (through
 * {@code DefaultVocabulary.builder().addFromTextFile(..)}). Continuation pieces start with
 * {@code ##}.
 *
 * <p>Special tokens are found by name, wherever they are: Tessera's own vocabularies put
 * them first ({@code [PAD]}=0, {@code [UNK]}=1, {@code [CLS]}=2, {@code [SEP]}=3,
 * {@code [MASK]}=4), while Google's BERT vocabularies have {@code [PAD]}=0,
 * {@code [UNK]}=100, {@code [CLS]}=101, {@code [SEP]}=102, {@code [MASK]}=103; both load.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class Vocabulary {

    /** Padding token. */
    public static final String PAD = "[PAD]";
    /** Unknown-word token. */
    public static final String UNK = "[UNK]";
    /** Classification token that opens every BERT sequence. */
    public static final String CLS = "[CLS]";
    /** Separator token that closes each segment (and, here, each GPT-2 document). */
    public static final String SEP = "[SEP]";
    /** Mask token of masked-language-model pretraining. */
    public static final String MASK = "[MASK]";
    /** The special tokens, in the order Tessera's vocabularies give them ids 0..4. */
    public static final List<String> SPECIAL_TOKENS = List.of(PAD, UNK, CLS, SEP, MASK);
    /** Prefix of a piece that continues a word. */
    public static final String CONTINUATION_PREFIX = "##";

    private final List<String> tokens;
    private final Map<String, Integer> ids;
    private final BitSet special;
    private final BitSet continuation;
    private final int padId;
    private final int unkId;
    private final int clsId;
    private final int sepId;
    private final int maskId;

    private Vocabulary(List<String> tokens, Map<String, Integer> ids) {
        this.tokens = List.copyOf(tokens);
        this.ids = Map.copyOf(ids);
        this.padId = ids.get(PAD);
        this.unkId = ids.get(UNK);
        this.clsId = ids.get(CLS);
        this.sepId = ids.get(SEP);
        this.maskId = ids.get(MASK);
        this.special = new BitSet(tokens.size());
        for (String s : SPECIAL_TOKENS) {
            special.set(ids.get(s));
        }
        this.continuation = new BitSet(tokens.size());
        for (int id = 0; id < tokens.size(); id++) {
            if (tokens.get(id).startsWith(CONTINUATION_PREFIX) && tokens.get(id).length() > 2) {
                continuation.set(id);
            }
        }
    }

    /**
     * Creates a vocabulary from its tokens in id order.
     *
     * @param tokens the token of each id; must hold the five special tokens, no duplicates,
     *               and no empty token or token with a line break
     * @return the vocabulary
     * @throws IllegalArgumentException naming the offending token and the fix
     */
    public static Vocabulary of(List<String> tokens) {
        return build(tokens, "the token list");
    }

    /**
     * Reads a {@code vocab.txt} file.
     *
     * @param file the file, one token per line
     * @return the vocabulary
     * @throws IllegalArgumentException if the file does not exist, has an empty line or a
     *                                  repeated token, or lacks a special token (the message
     *                                  names the missing tokens and the file)
     * @throws IOException              if reading fails
     */
    public static Vocabulary load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("Vocabulary file " + file.toAbsolutePath()
                    + " does not exist or is not a file; pass a vocab.txt written by"
                    + " Vocabulary.save (WordPieceTrainer builds one) or a BERT vocab.txt");
        }
        List<String> tokens = new ArrayList<>();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            while ((line = reader.readLine()) != null) {
                tokens.add(line);
            }
        }
        return build(tokens, "vocabulary file " + file.toAbsolutePath());
    }

    private static Vocabulary build(List<String> tokens, String source) {
        Map<String, Integer> ids = new HashMap<>(tokens.size() * 2);
        for (int id = 0; id < tokens.size(); id++) {
            String token = tokens.get(id);
            if (token.isEmpty() || token.indexOf('\n') >= 0 || token.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("In " + source + ", id " + id
                        + " (line " + (id + 1) + ") is " + (token.isEmpty() ? "empty" : "a token with a line break")
                        + "; every id needs one non-empty token on its own line: remove the line or put a token there");
            }
            Integer previous = ids.putIfAbsent(token, id);
            if (previous != null) {
                throw new IllegalArgumentException("In " + source + ", token '" + token + "' appears at id "
                        + previous + " and again at id " + id + "; each token must appear once: remove the repeat");
            }
        }
        List<String> missing = new ArrayList<>();
        for (String s : SPECIAL_TOKENS) {
            if (!ids.containsKey(s)) {
                missing.add(s);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("The " + source + " lacks the special token(s) " + missing
                    + "; BERT-style pretraining needs all of " + SPECIAL_TOKENS
                    + ": add the missing ones, one per line (Tessera puts them at ids 0..4),"
                    + " or rebuild the vocabulary with WordPieceTrainer");
        }
        return new Vocabulary(tokens, ids);
    }

    /**
     * Writes this vocabulary as {@code vocab.txt}: one token per line, UTF-8. The file is
     * written to a temporary sibling and moved into place, so a reader never sees half a file.
     *
     * @param file the target file; its parent folder is created if missing
     * @throws IOException if writing fails
     */
    public void save(Path file) throws IOException {
        Path absolute = file.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path temp = Files.createTempFile(absolute.getParent(), absolute.getFileName().toString(), ".tmp");
        try {
            try (BufferedWriter writer = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
                for (String token : tokens) {
                    writer.write(token);
                    writer.write('\n');
                }
            }
            Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * Returns the number of tokens.
     *
     * @return the vocabulary size V; ids run over {@code [0, V)}
     */
    public int size() {
        return tokens.size();
    }

    /**
     * Returns the token of an id.
     *
     * @param id an id in {@code [0, size())}
     * @return its token
     */
    public String token(int id) {
        return tokens.get(id);
    }

    /**
     * Returns the id of a token, or the id of {@code [UNK]} if the token is absent (as
     * BERT's {@code convert_tokens_to_ids} does).
     *
     * @param token a token
     * @return its id, or {@link #unkId()}
     */
    public int id(String token) {
        return ids.getOrDefault(token, unkId);
    }

    /**
     * Returns whether the vocabulary holds a token.
     *
     * @param token a token
     * @return {@code true} if it has an id
     */
    public boolean contains(String token) {
        return ids.containsKey(token);
    }

    /** Returns the id of the token, or -1: the lookup of the WordPiece inner loop. */
    int idOrNegative(String token) {
        return ids.getOrDefault(token, -1);
    }

    /**
     * Returns all tokens in id order.
     *
     * @return an unmodifiable list
     */
    public List<String> tokens() {
        return tokens;
    }

    /** @return the id of {@code [PAD]} */
    public int padId() {
        return padId;
    }

    /** @return the id of {@code [UNK]} */
    public int unkId() {
        return unkId;
    }

    /** @return the id of {@code [CLS]} */
    public int clsId() {
        return clsId;
    }

    /** @return the id of {@code [SEP]} */
    public int sepId() {
        return sepId;
    }

    /** @return the id of {@code [MASK]} */
    public int maskId() {
        return maskId;
    }

    /**
     * Returns whether an id is one of the five special tokens.
     *
     * @param id an id
     * @return {@code true} for {@code [PAD] [UNK] [CLS] [SEP] [MASK]}
     */
    public boolean isSpecial(int id) {
        return special.get(id);
    }

    /**
     * Returns whether an id is a continuation piece ({@code ##...}), the test that
     * whole-word masking uses to group the pieces of a word.
     *
     * @param id an id
     * @return {@code true} if its token starts with {@code ##} and has more after it
     */
    public boolean isContinuation(int id) {
        return continuation.get(id);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Vocabulary && ((Vocabulary) other).tokens.equals(tokens);
    }

    @Override
    public int hashCode() {
        return tokens.hashCode();
    }

    @Override
    public String toString() {
        return "Vocabulary[size=" + tokens.size() + ", pad=" + padId + ", unk=" + unkId + ", cls=" + clsId
                + ", sep=" + sepId + ", mask=" + maskId + "]";
    }
}
