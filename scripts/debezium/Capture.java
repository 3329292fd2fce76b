// Runs Debezium's embedded engine with the JSON format and writes each
// change event as one line: {"topic":..., "key":..., "value":...}.
// Usage: java -cp '<libs>/*' Capture.java <connector.properties> <out.jsonl> <records> <idle-seconds>
// Stops once <records> events have arrived and none arrived for <idle-seconds>.
import io.debezium.engine.ChangeEvent;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.format.Json;
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;

public class Capture {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        try (Reader r = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) { props.load(r); }
        int want = Integer.parseInt(args[2]);
        long idleMs = Long.parseLong(args[3]) * 1000;
        AtomicInteger seen = new AtomicInteger();
        AtomicLong last = new AtomicLong(System.currentTimeMillis());
        Writer out = new BufferedWriter(new OutputStreamWriter(new FileOutputStream(args[1]), StandardCharsets.UTF_8));
        DebeziumEngine<ChangeEvent<String, String>> engine = DebeziumEngine.create(Json.class)
            .using(props)
            .notifying(e -> {
                synchronized (out) {
                    try {
                        out.write("{\"topic\":" + quote(e.destination()) + ",\"key\":" + (e.key() == null ? "null" : e.key())
                            + ",\"value\":" + (e.value() == null ? "null" : e.value()) + "}\n");
                        out.flush();
                    } catch (IOException x) { throw new UncheckedIOException(x); }
                }
                seen.incrementAndGet();
                last.set(System.currentTimeMillis());
            })
            .using((success, message, error) -> {
                System.err.println("engine stopped: success=" + success + " " + message);
                if (error != null) error.printStackTrace();
            })
            .build();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        executor.execute(engine);
        long started = System.currentTimeMillis();
        while (true) {
            Thread.sleep(200);
            long now = System.currentTimeMillis();
            if (seen.get() >= want && now - last.get() >= idleMs) break;
            if (now - started > 300_000) { System.err.println("timed out with " + seen.get() + " events"); break; }
        }
        engine.close();
        executor.shutdown();
        executor.awaitTermination(30, TimeUnit.SECONDS);
        synchronized (out) { out.close(); }
        System.err.println("captured " + seen.get() + " events");
        System.exit(0);
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\');
            b.append(c);
        }
        return b.append('"').toString();
    }
}
