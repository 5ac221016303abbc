#!/usr/bin/env bash
# Builds, on the build machine (Java, Maven, network), everything that run-gpu-checks.sh needs on a lent
# GPU machine, which has no Java and reaches no registry:
#
#   out/gpu-bundle.tar.xz      (the only thing to carry: run's carry = ["out/gpu-bundle.tar.xz"])
#     jre/                     jlink'd runtime (Temurin 25's jlink; runs the release-17 classes)
#     jars/                    every tessera module, parallel's test jars, runtime deps, JUnit console
#     MANIFEST.txt             what went in, with sizes
#
# Trimmed to fit the 64 MiB carry limit: no pytorch-native-cpu (the machine's own libtorch is used through
# PYTORCH_LIBRARY_PATH), no OpenBLAS (the GPU runs use -Dtessera.gemm=libtorch), DJL's pytorch-jni reduced to its linux-x86_64 JNI libraries (cpu and
# cu128), and the CUDA presets' linux-x86_64 jar reduced to the two JNI wrappers the NCCL backend loads
# (libjnicudart.so, libjninccl.so). CUDA, cuDNN and NCCL themselves come from the machine (PyTorch's pip
# wheels), never from Maven.
#
# Usage: scripts/gpu/prepare-bundle.sh [--skip-build]
#   JLINK_JDK=/path/to/jdk   a JDK whose jlink makes the runtime (default: Temurin 25 if present, else
#                            the JDK of `javac`); a Temurin build links against an old glibc, which matters
#                            on the GPU machine
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT_DIR="$ROOT/out/gpu-bundle"
TARBALL="$ROOT/out/gpu-bundle.tar.xz"
JUNIT_PLATFORM_VERSION=1.11.4   # the platform release of the junit-bom 5.11.4 pinned in the parent POM
# jdk.zipfs: the JUnit console launcher reads the test jars through the zip file system
MODULES=java.base,java.logging,java.management,jdk.management,jdk.unsupported,java.naming,java.xml,jdk.zipfs

if [[ -z "${JLINK_JDK:-}" ]]; then
  if [[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/jlink ]]; then
    JLINK_JDK=/usr/lib/jvm/temurin-25-jdk-amd64
  else
    JLINK_JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
  fi
fi

cd "$ROOT"
if [[ "${1:-}" != "--skip-build" ]]; then
  echo "== building every module (tests compiled, not run)"
  mvn -q -B install -DskipTests
fi

rm -rf "$OUT_DIR" "$TARBALL"
mkdir -p "$OUT_DIR/jars"

echo "== copying runtime and test dependencies of parallel"
mvn -q -B -pl parallel dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$OUT_DIR/jars" \
  -DexcludeArtifactIds=pytorch-native-cpu,openblas,junit-jupiter,junit-jupiter-api,junit-jupiter-engine,junit-jupiter-params,junit-platform-commons,junit-platform-engine,opentest4j,apiguardian-api
mvn -q -B dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM_VERSION" \
  -DoutputDirectory="$OUT_DIR/jars"
cp parallel/target/tessera-parallel-*.jar "$OUT_DIR/jars/"

echo "== copying the command line's runtime dependencies (bench step, pretrain on the GPU)"
mvn -q -B -pl cli dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$OUT_DIR/jars" \
  -DexcludeArtifactIds=pytorch-native-cpu,openblas
cp cli/target/tessera-cli-*.jar "$OUT_DIR/jars/"

echo "== trimming native jars"
python3 - "$OUT_DIR/jars" <<'EOF'
import glob, os, sys, zipfile
jars = sys.argv[1]
def trim(pattern, keep):
    for path in glob.glob(os.path.join(jars, pattern)):
        tmp = path + ".tmp"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                if keep(item.filename):
                    dst.writestr(item, src.read(item.filename))
        before, after = os.path.getsize(path), os.path.getsize(tmp)
        os.replace(tmp, path)
        print(f"   {os.path.basename(path)}: {before/2**20:.1f} MiB -> {after/2**20:.1f} MiB")
trim("pytorch-jni-*.jar", lambda n: n.startswith("META-INF/") or n == "jnilib/pytorch.properties"
     or n.startswith("jnilib/linux-x86_64/"))
trim("cuda-*-linux-x86_64.jar", lambda n: n == "META-INF/MANIFEST.MF"
     or n.endswith(("/libjnicudart.so", "/libjninccl.so")))
EOF

echo "== jlink ($JLINK_JDK) with $MODULES"
"$JLINK_JDK/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files \
  --compress=zip-9 --output "$OUT_DIR/jre" 2>/dev/null \
  || "$JLINK_JDK/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files \
       --compress=2 --output "$OUT_DIR/jre"
"$OUT_DIR/jre/bin/java" -version 2>&1 | head -1

{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "jre: $("$OUT_DIR/jre/bin/java" -version 2>&1 | head -1), modules $MODULES, $(du -sh "$OUT_DIR/jre" | cut -f1)"
  (cd "$OUT_DIR/jars" && ls -l ./*.jar | awk '{printf "%10d  %s\n", $5, $NF}')
} > "$OUT_DIR/MANIFEST.txt"

echo "== packing"
tar -C "$ROOT/out" -cf - gpu-bundle | xz -9 -T0 > "$TARBALL"
du -sh "$OUT_DIR/jre" "$OUT_DIR/jars" "$TARBALL"
size=$(stat -c %s "$TARBALL")
if (( size > 64 * 1024 * 1024 )); then
  echo "WARNING: $TARBALL is $((size / 1048576)) MiB, over the 64 MiB carry limit" >&2
fi
echo "carry: out/gpu-bundle.tar.xz   run there: bash scripts/gpu/run-gpu-checks.sh [nccl|step|train|all]"
