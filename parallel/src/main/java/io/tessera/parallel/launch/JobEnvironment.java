package io.tessera.parallel.launch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Where this process sits in a job, read from the environment that the launcher set: torchrun's
 * {@code MASTER_ADDR}, {@code MASTER_PORT}, {@code RANK}, {@code WORLD_SIZE}, {@code LOCAL_RANK}, or
 * else Slurm's {@code SLURM_PROCID}, {@code SLURM_NTASKS}, {@code SLURM_LOCALID} with the store on the
 * first host of {@code SLURM_JOB_NODELIST} (unless {@code MASTER_ADDR} is set) and port
 * {@code MASTER_PORT} or {@value #DEFAULT_PORT}. The job token comes from {@code TESSERA_JOB_TOKEN}.
 *
 * <p>The number of ranks on this host (which divides its cores and picks its GPU) is torchrun's
 * {@code LOCAL_WORLD_SIZE} or Slurm's {@code SLURM_NTASKS_PER_NODE} (the leading number of, e.g.,
 * {@code 4(x2)}); where neither is set it is the whole world when the store is on the loopback address
 * (every rank is on this host), else the local rank + 1.
 *
 * <p>Thread safety: immutable.
 *
 * @param masterAddr host of the rendezvous store (rank 0)
 * @param masterPort its port
 * @param rank this process's rank
 * @param worldSize number of processes
 * @param localRank this process's index on its host
 * @param localWorldSize number of ranks on this host
 * @param token the job token (empty: none)
 * @param source which launcher's variables were read, for messages
 */
public record JobEnvironment(String masterAddr, int masterPort, int rank, int worldSize, int localRank, int localWorldSize,
        String token, String source) {

    /** PyTorch's default rendezvous port. */
    public static final int DEFAULT_PORT = 29500;

    public JobEnvironment {
        Objects.requireNonNull(masterAddr, "masterAddr");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(source, "source");
        if (worldSize < 1) {
            throw new IllegalArgumentException(source + ": world size = " + worldSize + " must be at least 1");
        }
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException(source + ": rank = " + rank + " must be in [0, " + worldSize
                    + ") for world size " + worldSize);
        }
        if (masterPort < 0 || masterPort > 65535) {
            throw new IllegalArgumentException(source + ": port = " + masterPort + " must be in [0, 65535]");
        }
        if (localRank < 0) {
            throw new IllegalArgumentException(source + ": local rank = " + localRank + " must be at least 0");
        }
        if (localWorldSize < 1 || localRank >= localWorldSize) {
            throw new IllegalArgumentException(source + ": local world size = " + localWorldSize + " must be at least 1 and"
                    + " above the local rank " + localRank + "; hint: set LOCAL_WORLD_SIZE to the number of ranks on this host");
        }
    }

    /** @return the environment of this process */
    public static JobEnvironment fromEnv() {
        return fromEnv(System.getenv());
    }

    /**
     * Reads a job environment from a map of variables.
     *
     * @param env the variables
     * @return the environment
     * @throws IllegalArgumentException naming the missing or malformed variable
     */
    public static JobEnvironment fromEnv(Map<String, String> env) {
        String token = env.getOrDefault("TESSERA_JOB_TOKEN", "");
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) {
            String src = "torchrun environment";
            String master = required(env, "MASTER_ADDR", src);
            int world = number(env, "WORLD_SIZE", null, src);
            int localRank = number(env, "LOCAL_RANK", 0, src);
            return new JobEnvironment(master, number(env, "MASTER_PORT", null, src), number(env, "RANK", null, src), world,
                    localRank, number(env, "LOCAL_WORLD_SIZE", localDefault(master, world, localRank), src), token, src);
        }
        if (env.containsKey("SLURM_PROCID")) {
            String src = "Slurm environment";
            String master = env.get("MASTER_ADDR");
            if (master == null) {
                String nodes = env.getOrDefault("SLURM_JOB_NODELIST", env.get("SLURM_NODELIST"));
                if (nodes == null || nodes.isBlank()) {
                    throw new IllegalArgumentException(src + ": neither MASTER_ADDR nor SLURM_JOB_NODELIST is set; hint: export"
                            + " MASTER_ADDR=<host of rank 0> in the batch script");
                }
                master = expandNodeList(nodes).get(0);
            }
            int world = number(env, "SLURM_NTASKS", null, src);
            String perNode = env.getOrDefault("SLURM_NTASKS_PER_NODE", "").replaceFirst("\\(.*$", "").split(",")[0];
            Map<String, String> local = perNode.isBlank() ? Map.of() : Map.of("SLURM_NTASKS_PER_NODE", perNode);
            int localRank = number(env, "SLURM_LOCALID", 0, src);
            return new JobEnvironment(master, number(env, "MASTER_PORT", DEFAULT_PORT, src), number(env, "SLURM_PROCID", null, src),
                    world, localRank, number(local, "SLURM_NTASKS_PER_NODE", localDefault(master, world, localRank), src), token,
                    src);
        }
        throw new IllegalArgumentException("no job environment: set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT"
                + " (as torchrun does) or run under Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_JOB_NODELIST)");
    }

    /**
     * Expands a Slurm host list such as {@code node[01-04,07],login} into host names, in order,
     * keeping zero padding.
     *
     * @param list the compressed list
     * @return the hosts
     */
    public static List<String> expandNodeList(String list) {
        List<String> hosts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i <= list.length(); i++) {
            char c = i < list.length() ? list.charAt(i) : ',';
            if (c == '[') {
                depth++;
            } else if (c == ']') {
                depth--;
            } else if (c == ',' && depth == 0) {
                String item = list.substring(start, i).trim();
                if (!item.isEmpty()) {
                    expandItem(item, hosts, list);
                }
                start = i + 1;
            }
        }
        if (depth != 0 || hosts.isEmpty()) {
            throw new IllegalArgumentException("node list '" + list + "' is malformed or empty; expected e.g. node[01-04],other");
        }
        return hosts;
    }

    private static void expandItem(String item, List<String> out, String list) {
        int open = item.indexOf('[');
        if (open < 0) {
            out.add(item);
            return;
        }
        int close = item.indexOf(']', open);
        if (close < 0) {
            throw new IllegalArgumentException("node list '" + list + "': unclosed '[' in '" + item + "'");
        }
        String prefix = item.substring(0, open);
        String rest = item.substring(close + 1);
        for (String part : item.substring(open + 1, close).split(",")) {
            String[] range = part.trim().split("-");
            try {
                long lo = Long.parseLong(range[0]);
                long hi = range.length > 1 ? Long.parseLong(range[1]) : lo;
                if (range.length > 2 || hi < lo) {
                    throw new NumberFormatException(part);
                }
                for (long n = lo; n <= hi; n++) {
                    String digits = Long.toString(n);
                    String padded = "0".repeat(Math.max(0, range[0].length() - digits.length())) + digits;
                    expandItem(prefix + padded + rest, out, list);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("node list '" + list + "': '" + part + "' is not a number or a range lo-hi", e);
            }
        }
    }

    /** Where the launcher did not say: every rank when the store is on loopback, else as few as the local rank implies. */
    private static int localDefault(String master, int world, int localRank) {
        boolean loopback = master.equals("localhost") || master.startsWith("127.") || master.equals("::1");
        return Math.max(loopback ? world : 1, localRank + 1);
    }

    private static String required(Map<String, String> env, String name, String src) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(src + ": " + name + " is not set; hint: launch with torchrun or export " + name);
        }
        return v.trim();
    }

    private static int number(Map<String, String> env, String name, Integer fallback, String src) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            if (fallback == null) {
                throw new IllegalArgumentException(src + ": " + name + " is not set; hint: launch with torchrun or export " + name);
            }
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(src + ": " + name + " = '" + v + "' is not an integer", e);
        }
    }
}
