// Writes a Kafka Connect offset file (FileOffsetBackingStore's format: a
// Java-serialized HashMap of JSON key bytes to JSON value bytes) holding
// one source offset, so Debezium's MySQL connector starts streaming at that
// binlog position. The embedded engine and Kafka Connect's standalone
// worker read the same format, with the same key: the connector's name
// and its source partition, ["<name>",{"server":"<topic.prefix>"}].
//
// Usage: java OffsetFile.java <file> <connector name> <topic.prefix> <offset-json>
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;

public class OffsetFile {
    public static void main(String[] args) throws Exception {
        String key = "[\"" + args[1] + "\",{\"server\":\"" + args[2] + "\"}]";
        HashMap<byte[], byte[]> raw = new HashMap<>();
        raw.put(key.getBytes(StandardCharsets.UTF_8), args[3].getBytes(StandardCharsets.UTF_8));
        try (ObjectOutputStream os = new ObjectOutputStream(new FileOutputStream(args[0]))) {
            os.writeObject(raw);
        }
    }
}
