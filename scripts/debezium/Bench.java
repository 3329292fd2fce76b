// Times Debezium's embedded engine (JSON format, as Kafka Connect's
// JsonConverter writes it) on the benchmark's table, for the raftcdc
// benchmarks that run both sides in the same run.
//
// Usage: java -cp '<libs>/*' Bench.java <connector.properties> <topic> <records>
//
// Counts the records on <topic> until <records> have arrived and prints
// one JSON line: {"records", "seconds" (first record to last),
// "records_per_second", "peak_rss_mib"} (peak RSS from /proc/self/status).
// To stream from a binlog position, OffsetFile.java writes the offset file
// named by offset.storage.file.filename before this starts.
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

public class Bench {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (Reader r = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) { props.load(r); }
        String topic = args[1];
        long want = Long.parseLong(args[2]);
        AtomicLong seen = new AtomicLong();
        AtomicLong first = new AtomicLong();
        AtomicLong last = new AtomicLong();
        CountDownLatch done = new CountDownLatch(1);
        DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
            .using(props)
            .notifying((records, committer) -> {
                for (ChangeEvent<String, String> e : records) {
                    if (topic.equals(e.destination()) && e.value() != null) {
                        long n = seen.incrementAndGet();
                        if (n == 1) first.set(System.nanoTime());
                        if (n == want) { last.set(System.nanoTime()); done.countDown(); }
                    }
                    committer.markProcessed(e);
                }
                committer.markBatchFinished();
            })
            .using((success, message, error) -> {
                if (!success) {
                    System.err.println("engine stopped: " + message);
                    if (error != null) error.printStackTrace();
                    done.countDown();
                }
            })
            .build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        executor.execute(engine);
        if (!done.await(1800, TimeUnit.SECONDS)) System.err.println("timed out with " + seen.get() + " records");
        long n = seen.get();
        double seconds = (last.get() - first.get()) / 1e9;
        double rss = 0;
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) rss = Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        }
        System.out.printf(Locale.ROOT, "{\"records\":%d,\"seconds\":%.3f,\"records_per_second\":%.0f,\"peak_rss_mib\":%.0f}%n",
            n, seconds, n == want && seconds > 0 ? (want - 1) / seconds : 0.0, rss);
        System.out.flush();
        engine.close();
        executor.shutdownNow();
        System.exit(n == want ? 0 : 1);
    }
}
