package io.tessera.train.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {

    @TempDir
    Path dir;

    @Test
    void parsesWikiTextArticles() {
        List<Document> docs = Corpus.parseWikiText(List.of(
                " ",
                " = Homarus gammarus = ",
                " ",
                " Homarus gammarus is a <unk> lobster . It weighs 0 @.@ 7 – 2 @,@ 200 kg . ",
                " = = Description = = ",
                " He said \" stop . \" Then he left ! Why ? ",
                " = Second article = ",
                " A well @-@ known fact , without end mark "));
        assertEquals(2, docs.size());
        assertEquals("Homarus gammarus", docs.get(0).title());
        assertEquals(List.of("Homarus gammarus is a [UNK] lobster .", "It weighs 0.7 – 2,200 kg .",
                "He said \" stop . \"", "Then he left !", "Why ?"), docs.get(0).sentences());
        assertEquals("Second article", docs.get(1).title());
        assertEquals(List.of("A well-known fact , without end mark"), docs.get(1).sentences());
    }

    @Test
    void unknownWordsStayWordsNextToEscapes() {
        assertEquals("re- [UNK] and [UNK] -Norris , 1,000", Corpus.normalise("re @-@ <unk> and <unk> @-@ Norris , 1 @,@ 000"));
    }

    @Test
    void recognisesHeadingLevels() {
        assertEquals(1, Corpus.headingLevel("= Title ="));
        assertEquals(2, Corpus.headingLevel("= = Section = ="));
        assertEquals(3, Corpus.headingLevel("= = = Sub = = ="));
        assertEquals(0, Corpus.headingLevel("a = b ="));
        assertEquals(0, Corpus.headingLevel("= ="));
    }

    @Test
    void loadsTheShippedCorpus() {
        Corpus corpus = TestData.trainCorpus();
        assertEquals(60, corpus.documents().size());
        assertEquals("Homarus gammarus", corpus.documents().get(0).title());
        assertTrue(corpus.sentences().size() > 5000, corpus.sentences().size() + " sentences");
    }

    @Test
    void missingFileNamesThePathAndAFix() {
        Path missing = dir.resolve("absent.txt");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.loadWikiText(missing));
        assertTrue(e.getMessage().contains(missing.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("data/wikitext-2/valid.txt"), e.getMessage());
    }

    @Test
    void emptyFileNamesThePath() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.loadWikiText(empty));
        assertTrue(e.getMessage().contains(empty.toAbsolutePath() + " is empty"), e.getMessage());
    }

    @Test
    void fileWithoutSentencesNamesThePath() throws IOException {
        Path headings = dir.resolve("headings.txt");
        Files.write(headings, List.of(" ", " = Title = ", " = = Section = = ", "   "), StandardCharsets.UTF_8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corpus.loadWikiText(headings));
        assertTrue(e.getMessage().contains(headings.toAbsolutePath() + " holds no sentences"), e.getMessage());
    }

    @Test
    void corpusOfNoTokensIsRejectedByTheDatasets() {
        Corpus controlOnly = Corpus.of("control-only corpus", List.of(new Document("t", List.of("\u0001\u0002"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BertPretrainingDataset.create(controlOnly, TestData.tokenizer(), BertDataConfig.builder().build()));
        assertTrue(e.getMessage().contains("control-only corpus yields no tokens"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Corpus.of("nothing", List.of()));
        assertTrue(e.getMessage().contains("nothing"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Document("t", List.of()));
        assertTrue(e.getMessage().contains("no sentences"), e.getMessage());
    }
}
