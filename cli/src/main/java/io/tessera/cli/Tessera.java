package io.tessera.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tessera} command line: one entry point for every job (see {@code bin/tessera}).
 *
 * <p>Thread safety: a process entry point; not for concurrent use.
 */
@Command(name = "tessera", mixinStandardHelpOptions = true, versionProvider = Tessera.Version.class,
        description = "Distributed Transformer training on the JVM.",
        subcommands = {PretrainCommand.class, PretrainCommand.Gpt2.class, FinetuneCommand.class, DistillCommand.class, PredictCommand.class, TokenizeCommand.class, InitCommand.class, EvalCommand.class, ExportCommand.class, PlanCommand.class, BenchCommand.class,
            DoctorCommand.class, CommandLine.HelpCommand.class})
public final class Tessera implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /**
     * @param args command-line arguments
     */
    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** @return the configured command line, for tests and embedding */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Tessera());
        cl.setOverwrittenOptionsAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println(cmd.getColorScheme().errorText("error: " + ex.getMessage()));
            if (System.getenv("TESSERA_DEBUG") != null) {
                ex.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println("(set TESSERA_DEBUG=1 for the stack trace)");
            }
            return 1;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Reads the versions stamped into the jar at build time. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = properties();
            return new String[] {"tessera " + p.getProperty("version"),
                "DJL " + p.getProperty("djl") + ", PyTorch " + p.getProperty("pytorch")};
        }
    }

    static Properties properties() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Tessera.class.getResourceAsStream("/tessera-version.properties")) {
            if (in == null) {
                throw new IOException("tessera-version.properties missing from the class path");
            }
            p.load(in);
        }
        return p;
    }
}
