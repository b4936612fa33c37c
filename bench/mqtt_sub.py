"""A subscriber in its own process (so it does not compete with the gateway for a GIL): the time in
each state document (the update's: when its burst's last DP came in) → the document's arrival, in
ms. ``mqtt_sub.py PORT``: prints 'ready' once subscribed; counts from a line 'count' on stdin;
prints the latencies as one JSON list at 'stop'. A document seen before (the publisher's periodic
refresh re-sends the last state) is not counted."""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt


def main(port: int) -> None:
    lat: list[float] = []
    seen: dict[str, str] = {}
    counting = threading.Event()
    subscribed = threading.Event()

    def on_message(client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
        now = time.time()
        stamp = json.loads(msg.payload)["time"]
        if seen.get(msg.topic) == stamp:
            return
        seen[msg.topic] = stamp
        if counting.is_set():
            lat.append((now - dt.datetime.fromisoformat(stamp).timestamp()) * 1000)

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    c.on_message = on_message
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect("127.0.0.1", port)
    c.subscribe("tuyameter/+/state")
    c.loop_start()
    subscribed.wait(10)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            counting.set()
        elif line.strip() == "stop":
            break
    c.loop_stop()
    print(json.dumps(lat), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
