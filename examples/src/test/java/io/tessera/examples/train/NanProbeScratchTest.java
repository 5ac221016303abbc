package io.tessera.examples.train;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
class NanProbeScratchTest {
  @TempDir Path dir;
  @Test void probe() {
    for (int rep = 0; rep < 2; rep++) {
      var r = TrainerFixture.run(TrainerFixture.tinyBert(dir.resolve("r" + rep)).optDropout(0.1).optSteps(40).optGlobalBatch(4).optMicroBatch(4).build());
      System.out.println("PROBE losses " + r.get(0).losses());
    }
  }
}
