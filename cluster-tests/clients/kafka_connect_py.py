"""Drives raftcdc's Kafka Connect REST API with kafka-connect-py, an
independent client from PyPI (cluster-tests/tests/clients.rs runs it).

Each call goes to a different node, round robin, as through a load
balancer: create, inspect, pause, resume, restart and delete one
connector. Exits non-zero with a message on the first surprise.

usage: kafka_connect_py.py CONFIG_JSON URL [URL...]
"""
import json
import sys
import time

from kafka_connect import KafkaConnect

config = json.loads(sys.argv[1])
clients = [KafkaConnect(url=url) for url in sys.argv[2:]]
calls = 0


def any_node():
    global calls
    calls += 1
    return clients[calls % len(clients)]


def wait_for(what, check, deadline=30.0):
    end = time.monotonic() + deadline
    while True:
        status = any_node().get_connector_status(config["name"])
        if check(status):
            return status
        if time.monotonic() > end:
            sys.exit(f"timed out waiting for {what}: {status}")
        time.sleep(0.1)


name = config["name"]
info = any_node().get_cluster_info()
assert "version" in info and "kafka_cluster_id" in info, info

created = any_node().create_connector(config)
assert created["name"] == name, created
assert created["tasks"] == [{"connector": name, "task": 0}], created

assert name in any_node().list_connectors(), "listed"
expanded = any_node().list_connectors(expand="status")
assert expanded[name]["status"]["name"] == name, expanded
got = any_node().get_connector(name)
assert got["config"]["topic.prefix"] == config["config"]["topic.prefix"], got
assert any_node().get_connector_config(name)["name"] == name
tasks = any_node().list_connector_tasks(name)
assert tasks[0]["id"] == {"connector": name, "task": 0}, tasks
assert any_node().get_connector_task_status(name, 0)["id"] == 0

any_node().pause_connector(name)
wait_for("PAUSED", lambda s: s["connector"]["state"] == "PAUSED" and s["tasks"][0]["state"] == "PAUSED")
any_node().resume_connector(name)
wait_for("resumed", lambda s: s["connector"]["state"] != "PAUSED")
any_node().restart_connector(name)
restarted = any_node().restart_connector(name, include_tasks=True)
assert restarted["tasks"][0]["state"] == "RESTARTING", restarted
any_node().restart_connector_task(name, 0)

plugins = any_node().list_connector_plugins()
assert any(p["class"] == config["config"]["connector.class"] for p in plugins), plugins

any_node().delete_connector(name)
for client in clients:
    end = time.monotonic() + 10
    while name in client.list_connectors():
        if time.monotonic() > end:
            sys.exit(f"{client.url} still lists {name}")
        time.sleep(0.1)
print("kafka-connect-py: create, inspect, pause, resume, restart and delete worked")
