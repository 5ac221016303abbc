package io.tessera.train.finetune;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads the two fine-tuning file formats of the shipped data.
 *
 * <ul>
 *   <li><b>Classification TSV</b> (GLUE's SST-2): a header line naming the columns, tab-separated, with
 *       a {@code sentence} column and, for training and evaluation, a {@code label} column.
 *   <li><b>CoNLL</b> (CoNLL-2003): one word per line as {@code word TAG} (or the original four columns
 *       {@code word POS chunk TAG}: the tag is the last column), a blank line between sentences;
 *       {@code -DOCSTART-} lines are skipped. For prediction input the tag column may be absent.
 * </ul>
 *
 * <p>Every malformed line is reported with the file, the line number, the rule and a fix.
 *
 * <p>Thread safety: stateless.
 */
public final class TaskFiles {

    /** The column holding the text of a classification TSV. */
    public static final String SENTENCE = "sentence";
    /** The column holding the label of a classification TSV. */
    public static final String LABEL = "label";

    private TaskFiles() {
    }

    /**
     * Reads a classification TSV.
     *
     * @param file the file
     * @param labelled whether every row must have a label (training, evaluation); else the label column may
     *     be missing (prediction input)
     * @return the rows, in order
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException for an empty file, a missing column or a malformed row
     */
    public static List<LabeledSentence> readTsv(Path file, boolean labelled) throws IOException {
        List<String> lines = readLines(file);
        String[] header = lines.get(0).split("\t", -1);
        int text = Arrays.asList(header).indexOf(SENTENCE);
        int label = Arrays.asList(header).indexOf(LABEL);
        if (text < 0) {
            throw new IllegalArgumentException(file + ": line 1: the header " + Arrays.toString(header) + " has no '" + SENTENCE
                    + "' column; a classification file starts with a tab-separated header such as 'sentence<TAB>label'");
        }
        if (labelled && label < 0) {
            throw new IllegalArgumentException(file + ": line 1: the header " + Arrays.toString(header) + " has no '" + LABEL
                    + "' column, which training and evaluation need; add it, or use the file for predict only");
        }
        List<LabeledSentence> out = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\t", -1);
            if (f.length != header.length) {
                throw new IllegalArgumentException(file + ": line " + (i + 1) + " has " + f.length + " tab-separated fields but the"
                        + " header has " + header.length + "; a sentence must not contain a tab");
            }
            String l = label >= 0 ? f[label].trim() : null;
            if (labelled && l.isEmpty()) {
                throw new IllegalArgumentException(file + ": line " + (i + 1) + " has an empty label; give every row a label");
            }
            if (f[text].isBlank()) {
                throw new IllegalArgumentException(file + ": line " + (i + 1) + " has an empty sentence");
            }
            out.add(new LabeledSentence(f[text].trim(), l, i + 1));
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " has a header but no rows; it needs at least one sentence");
        }
        return out;
    }

    /**
     * Reads a CoNLL file.
     *
     * @param file the file
     * @param tagged whether every word must carry a tag (training, evaluation); else lines of one column
     *     are words without tags (prediction input)
     * @return the sentences, in order
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException for an empty file or a line without a tag
     */
    public static List<TaggedSentence> readConll(Path file, boolean tagged) throws IOException {
        List<String> lines = readLines(file);
        List<TaggedSentence> out = new ArrayList<>();
        List<String> words = new ArrayList<>();
        List<String> tags = new ArrayList<>();
        int start = 1;
        for (int i = 0; i <= lines.size(); i++) {
            String line = i < lines.size() ? lines.get(i).strip() : "";
            if (line.startsWith("-DOCSTART-")) {
                continue;
            }
            if (line.isEmpty()) {
                if (!words.isEmpty()) {
                    if (!tags.isEmpty() && tags.size() != words.size()) {
                        throw new IllegalArgumentException(file + ": the sentence at line " + start + " mixes words with and"
                                + " without tags; give every word a tag, or none");
                    }
                    out.add(new TaggedSentence(words, tags, start));
                    words = new ArrayList<>();
                    tags = new ArrayList<>();
                }
                start = i + 2;
                continue;
            }
            String[] f = line.split("\\s+");
            if (f.length == 1) {
                if (tagged) {
                    throw new IllegalArgumentException(file + ": line " + (i + 1) + " '" + line + "' has a word but no tag;"
                            + " CoNLL lines are 'word TAG' (or 'word POS chunk TAG'), with a blank line between sentences");
                }
                words.add(f[0]);
            } else {
                words.add(f[0]);
                tags.add(f[f.length - 1]);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException(file + " holds no sentence; CoNLL files have one 'word TAG' per line");
        }
        return out;
    }

    /**
     * A task file shipped with the project: {@code data/NAME} or {@code shared/data/NAME} in the working
     * directory or a folder above it (e.g. {@code sst-2/train.tsv}, {@code conll2003/dev.txt}).
     *
     * @param name the file under the data folder
     * @param flag the option it stands in for, for the message
     * @return the file
     * @throws IllegalArgumentException if it is not found, naming the flag to pass instead
     */
    public static Path shipped(String name, String flag) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            for (String base : List.of("data", "shared/data", "../shared/data")) {
                Path p = d.resolve(base).resolve(name).normalize();
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException(flag + ": no file given and the shipped " + name + " is not in data/ or shared/data/ above "
                + Path.of("").toAbsolutePath() + "; pass " + flag + " FILE");
    }

    private static List<String> readLines(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + " does not exist or is not a file");
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.stream().allMatch(String::isBlank)) {
            throw new IllegalArgumentException(file + " is empty");
        }
        return lines;
    }
}
