package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tessera.train.distill.bilstm.PosLexicon.Tag;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The lexicon's rules, one case each, and replacement drawn by count within a tag. */
class PosLexiconTest {

    @Test
    void closedClassesSuffixesAndLeftNeighboursDecideTheTag() {
        assertEquals(Tag.DET, PosLexicon.tag("the", null));
        assertEquals(Tag.PRON, PosLexicon.tag("they", null));
        assertEquals(Tag.ADP, PosLexicon.tag("with", null));
        assertEquals(Tag.AUX, PosLexicon.tag("was", null));
        assertEquals(Tag.PART, PosLexicon.tag("n't", null));
        assertEquals(Tag.PUNCT, PosLexicon.tag(",", null));
        assertEquals(Tag.PUNCT, PosLexicon.tag("--", null));
        assertEquals(Tag.NUM, PosLexicon.tag("1999", null));
        assertEquals(Tag.ADV, PosLexicon.tag("quickly", "the"), "a suffix wins over the neighbour");
        assertEquals(Tag.VERB, PosLexicon.tag("running", null));
        assertEquals(Tag.ADJ, PosLexicon.tag("beautiful", null));
        assertEquals(Tag.NOUN, PosLexicon.tag("darkness", null));
        assertEquals(Tag.NOUN, PosLexicon.tag("film", "the"));
        assertEquals(Tag.NOUN, PosLexicon.tag("plot", "their"));
        assertEquals(Tag.ADJ, PosLexicon.tag("good", "very"));
        assertEquals(Tag.ADJ, PosLexicon.tag("dull", "is"));
        assertEquals(Tag.OTHER, PosLexicon.tag("go", "they"));
        assertEquals(Tag.OTHER, PosLexicon.tag("fun", null));
    }

    @Test
    void aWordsTagComesFromItsMostFrequentLeftNeighbour() {
        PosLexicon lex = PosLexicon.build(List.of(List.of("the", "cut"), List.of("the", "cut"), List.of("very", "cut")));
        assertEquals(Tag.NOUN, lex.tagOf("cut"));
        assertEquals(Tag.OTHER, lex.tagOf("unseen"));
    }

    @Test
    void replacementIsDrawnByCountWithinTheTag() {
        List<List<String>> s = List.of(List.of("the", "film"), List.of("the", "film"), List.of("the", "film"), List.of("the", "plot"),
                List.of("very", "good"));
        PosLexicon lex = PosLexicon.build(s);
        assertEquals(List.of("film", "plot"), lex.wordsOf(Tag.NOUN));
        Random r = new Random(4);
        int film = 0;
        int n = 20000;
        for (int i = 0; i < n; i++) {
            String w = lex.replacement("plot", r);
            film += w.equals("film") ? 1 : 0;
        }
        // P(film) = 3/4; the standard deviation of the rate over 20,000 draws is 0.003.
        assertEquals(0.75, (double) film / n, 0.015);
        assertEquals("good", lex.replacement("good", r), "a tag with one word replaces it by itself");
    }
}
