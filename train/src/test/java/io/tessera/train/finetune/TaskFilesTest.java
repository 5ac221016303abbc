package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shipped SST-2 and CoNLL-2003 files read as their READMEs describe; malformed files get one clear error each. */
class TaskFilesTest {

    @TempDir
    Path dir;

    static Path shared(String file) {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path p = d.resolve("shared/data").resolve(file);
            if (Files.isRegularFile(p)) {
                return p;
            }
            p = d.resolve("../shared/data").resolve(file).normalize();
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    @Test
    void sst2DevHasItsPublishedCounts() throws Exception {
        Path dev = shared("sst-2/dev.tsv");
        assumeTrue(dev != null, "skipped: ../shared/data/sst-2/dev.tsv is not on this machine");
        List<LabeledSentence> rows = TaskFiles.readTsv(dev, true);
        assertEquals(872, rows.size());
        assertEquals(444, rows.stream().filter(r -> r.label().equals("1")).count());
        assertEquals(List.of("0", "1"), LabelSet.fromData(rows.stream().map(LabeledSentence::label).toList()).labels());
    }

    @Test
    void conllDevHasItsPublishedCounts() throws Exception {
        Path dev = shared("conll2003/dev.txt");
        assumeTrue(dev != null, "skipped: ../shared/data/conll2003/dev.txt is not on this machine");
        List<TaggedSentence> s = TaskFiles.readConll(dev, true);
        assertEquals(3250, s.size());
        assertEquals(51362, s.stream().mapToInt(t -> t.words().size()).sum());
        LabelSet labels = LabelSet.fromData(s.stream().flatMap(t -> t.tags().stream()).toList());
        assertEquals(List.of("O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER"), labels.labels());
    }

    @Test
    void badClassificationFilesAreRefusedNamingTheLine() throws Exception {
        assertMessage(write("empty.tsv", ""), true, "is empty");
        assertMessage(write("nolabel.tsv", "sentence\na film\n"), true, "no 'label' column");
        assertMessage(write("notext.tsv", "text\tlabel\na film\t1\n"), true, "no 'sentence' column");
        assertMessage(write("blank.tsv", "sentence\tlabel\na film\t\n"), true, "line 2 has an empty label");
        assertMessage(write("fields.tsv", "sentence\tlabel\na\tfilm\t1\n"), true, "line 2 has 3 tab-separated fields");
        assertEquals(1, TaskFiles.readTsv(write("predict.tsv", "sentence\na film\n"), false).size());
    }

    @Test
    void badConllFilesAreRefusedNamingTheLine() throws Exception {
        Path noTag = write("notag.txt", "EU B-ORG\nrejects\n\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskFiles.readConll(noTag, true));
        assertTrue(e.getMessage().contains("line 2 'rejects' has a word but no tag"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TaskFiles.readConll(write("none.txt", "\n\n"), true));
        assertTrue(e.getMessage().contains("is empty"), e.getMessage());
        List<TaggedSentence> s = TaskFiles.readConll(write("ok.txt", "-DOCSTART- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter B-PER"),
                true);
        assertEquals(2, s.size());
        assertEquals(List.of("B-ORG", "O"), s.get(0).tags());
        assertEquals(List.of("Peter"), s.get(1).words());
        assertEquals(6, s.get(1).line());
        assertEquals(3, s.get(0).line());
        assertEquals(List.of(), TaskFiles.readConll(write("words.txt", "EU\nrejects\n"), false).get(0).tags());
    }

    private void assertMessage(Path file, boolean labelled, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskFiles.readTsv(file, labelled));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }
}
