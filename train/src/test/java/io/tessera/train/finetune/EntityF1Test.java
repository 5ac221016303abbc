package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Entity F1 on hand-worked sentences, by conlleval's chunk rules. */
class EntityF1Test {

    private static List<String> tags(String s) {
        return List.of(s.split(" "));
    }

    @Test
    void chunksFollowConllevalIncludingITagsWithoutB() {
        assertEquals(List.of(new EntitySpan("PER", 0, 2), new EntitySpan("LOC", 3, 4)), EntityF1.entities(tags("B-PER I-PER O B-LOC")));
        // I- after O starts an entity; I- of another type starts another; B- splits two of the same type
        assertEquals(List.of(new EntitySpan("ORG", 1, 3), new EntitySpan("LOC", 3, 4), new EntitySpan("LOC", 4, 5)),
                EntityF1.entities(tags("O I-ORG I-ORG I-LOC B-LOC")));
        // an entity at the sentence end closes there; one at the start opens there
        assertEquals(List.of(new EntitySpan("MISC", 0, 1), new EntitySpan("PER", 2, 4)), EntityF1.entities(tags("I-MISC O B-PER I-PER")));
    }

    @Test
    void scoresCountExactTypeAndSpanMatchesOnly() {
        EntityF1 f = new EntityF1();
        // gold: PER[0,2) LOC[3,4); predicted: PER[0,1) (span wrong) LOC[3,4) (right) ORG[5,6) (spurious)
        f.add(tags("B-PER I-PER O B-LOC O O"), tags("B-PER O O B-LOC O B-ORG"));
        // gold: ORG[0,1) at the start, MISC[2,3) at the end; predicted: ORG by an I- tag (right), MISC typed LOC (wrong)
        f.add(tags("B-ORG O B-MISC"), tags("I-ORG O B-LOC"));
        EntityF1.Score all = f.overall();
        assertEquals(2, all.correct());  // LOC[3,4) and ORG[0,1)
        assertEquals(5, all.predicted());
        assertEquals(4, all.gold());
        assertEquals(2.0 / 5, all.precision(), 1e-12);
        assertEquals(2.0 / 4, all.recall(), 1e-12);
        assertEquals(2 * 0.4 * 0.5 / 0.9, all.f1(), 1e-12);
        assertEquals(new EntityF1.Score(0, 1, 1), f.byType().get("PER"));
        assertEquals(new EntityF1.Score(1, 2, 1), f.byType().get("LOC"));
        assertEquals(new EntityF1.Score(1, 2, 1), f.byType().get("ORG"));
        assertEquals(new EntityF1.Score(0, 0, 1), f.byType().get("MISC"));
        assertEquals(0.0, f.byType().get("MISC").f1());
    }

    @Test
    void malformedTagsAndLengthMismatchesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EntityF1.entities(tags("O PER")));
        assertTrue(e.getMessage().contains("'PER' at word 1"), e.getMessage());
        EntityF1 f = new EntityF1();
        e = assertThrows(IllegalArgumentException.class, () -> f.add(tags("O O"), tags("O")));
        assertTrue(e.getMessage().contains("2 gold tags but 1 predicted"), e.getMessage());
    }

    @Test
    void countsOfSeveralScorersSumToTheScoreOfAll() {
        List<String> types = EntityF1.types(List.of("O", "B-LOC", "I-LOC", "B-PER", "I-PER"));
        assertEquals(List.of("LOC", "PER"), types);
        EntityF1 a = new EntityF1(types);
        EntityF1 b = new EntityF1(types);
        EntityF1 all = new EntityF1(types);
        a.add(tags("B-PER I-PER O"), tags("B-PER I-PER O"));
        b.add(tags("B-LOC O"), tags("B-PER O"));
        all.add(tags("B-PER I-PER O"), tags("B-PER I-PER O"));
        all.add(tags("B-LOC O"), tags("B-PER O"));
        double[] sum = a.counts();
        double[] other = b.counts();
        for (int i = 0; i < sum.length; i++) {
            sum[i] += other[i];
        }
        EntityF1 merged = new EntityF1(types);
        merged.setCounts(sum);
        assertEquals(all.overall(), merged.overall());
        assertEquals(all.byType(), merged.byType());
        assertEquals(2, merged.sentences());
    }
}
