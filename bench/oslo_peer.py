#!/usr/bin/python3
"""oslo.messaging's side of bench/compare: a plain oslo Notifier or notification listener.

  oslo_peer.py send   --url rabbit://... --exchange X --topic T --count N [--durable]
  oslo_peer.py listen --url rabbit://... --exchange X --topic T --count N [--durable]

send: N info notifications through oslo_messaging.Notifier (driver messagingv2), each with the
same ~300-byte payload and small context as Herald's benches (context as an oslo.context
RequestContext, as tests/interop/oslo_peer.py does, so oslo 14 and 16 both send it).
listen: get_notification_listener (threading executor) on <topic>.info until N notifications
were handled, then stop.

Prints one JSON line at the end: {"count", "inner_seconds", "inner_cpu", "oslo_messaging"}, where
inner_* cover only the send loop (after imports and transport set-up) or, for listen, from
server.start() to the N-th notification. bench/compare times the whole process as well.
Runs with oslo.messaging 14 (/usr/bin/python3) and 16 (`RMQ_VERSION=4 scripts/rabbitmq python`).
"""

import argparse
import json
import resource
import sys
import threading
import time

import oslo_messaging
from oslo_config import cfg

PAYLOAD = {
    'instance_id': '9f1f3c7e-0a5b-4c8d-8e2f-1b2c3d4e5f60', 'state': 'active',
    'host': 'compute-17.example.org',
    'flavor': {'name': 'm1.small', 'vcpus': 1, 'memory_mb': 2048},
    'image_ref': 'c3d85643-7459-46cd-aedf-a2043fb47174', 'seq': 1,
}
CONTEXT = {'user': 'alice', 'request_id': 'req-1'}


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def oslo_version():
    try:
        from importlib.metadata import version
        return version('oslo.messaging')
    except Exception:  # noqa: only informative
        return 'unknown'


def make_transport(args):
    conf = cfg.ConfigOpts()
    conf([], project='herald-bench')
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    if args.durable:
        conf.set_override('amqp_durable_queues', True, group='oslo_messaging_rabbit')
    return conf, transport


def cmd_send(args):
    from oslo_context import context as oslo_context
    conf, transport = make_transport(args)
    conf.set_override('driver', ['messagingv2'], group='oslo_messaging_notifications')
    notifier = oslo_messaging.Notifier(transport, publisher_id='compute.host1', topics=[args.topic])
    ctxt = oslo_context.RequestContext.from_dict(CONTEXT)
    wall, cpu = time.monotonic(), cpu_seconds()
    for _ in range(args.count):
        notifier.info(ctxt, 'compute.instance.create.end', PAYLOAD)
    done = {'count': args.count, 'inner_seconds': time.monotonic() - wall,
            'inner_cpu': cpu_seconds() - cpu, 'oslo_messaging': oslo_version()}
    transport.cleanup()
    print(json.dumps(done), flush=True)


def cmd_listen(args):
    _conf, transport = make_transport(args)
    lock = threading.Lock()
    enough = threading.Event()
    state = {'count': 0}

    class Endpoint(object):
        def info(self, ctxt, publisher_id, event_type, payload, metadata):
            with lock:
                state['count'] += 1
                if state['count'] >= args.count:
                    enough.set()

    server = oslo_messaging.get_notification_listener(
        transport, [oslo_messaging.Target(topic=args.topic)], [Endpoint()], executor='threading')
    wall, cpu = time.monotonic(), cpu_seconds()
    server.start()
    finished = enough.wait(args.timeout)
    done = {'count': state['count'], 'inner_seconds': time.monotonic() - wall,
            'inner_cpu': cpu_seconds() - cpu, 'oslo_messaging': oslo_version()}
    server.stop()
    server.wait()
    transport.cleanup()
    print(json.dumps(done), flush=True)
    return 0 if finished else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('command', choices=['send', 'listen'])
    parser.add_argument('--url', required=True)
    parser.add_argument('--exchange', default='oslo-bench')
    parser.add_argument('--topic', default='bench-oslo')
    parser.add_argument('--count', type=int, required=True)
    parser.add_argument('--timeout', type=float, default=600.0)
    parser.add_argument('--durable', action='store_true', help='amqp_durable_queues=true')
    args = parser.parse_args()
    return {'send': cmd_send, 'listen': cmd_listen}[args.command](args) or 0


if __name__ == '__main__':
    sys.exit(main())
