#!/usr/bin/python3
"""The oslo.messaging side of Herald's interop tests.

Runs with oslo.messaging 14.0.3 (Debian 12's /usr/bin/python3) and 16.1 (Debian 13's, through
`RMQ_VERSION=4 scripts/rabbitmq python`). Contexts are always sent as oslo.context
RequestContext objects: oslo >= 15 discards a plain dict context (it sends
RequestContext.redacted_copy(), or {} for a dict), oslo 14 rebuilds one from its safe keys.

Sub-commands (every result is one JSON document per stdout line):

  send    oslo Notifier -> RabbitMQ. Sends --total notifications cycling through the seven
          priorities (or those in --priorities). Uses the given driver plus oslo's `test` driver, which
          records the very message dict (with message_id and timestamp) the messaging driver sent.
          --ctxt (a JSON dict) becomes RequestContext.from_dict(ctxt) unless --plain-dict.
          Prints {"event": "sent", "priority", "ctxt", "message"} per notification, where ctxt is
          the context oslo handed its drivers (flattened as pack_context does), then
          {"event": "done", "count", "oslo_messaging": version}.
  listen  oslo notification listener (threading executor), optionally pooled or batched.
          Prints {"event": "ready"} once subscribed, {"event": "msg", "method", "ctxt",
          "publisher_id", "event_type", "payload", "metadata"} per dispatched notification
          (plus "batch": n for batch listeners), then {"event": "done", "count"}. Stops after
          --count notifications, after --timeout seconds, or when stdin reaches EOF.
  filter  Evaluates oslo_messaging.NotificationFilter(**filter).match(...) for every case of
          the JSON file --cases ({"base": notification, "cases": [{"name", "filter",
          "notification": fields overriding base}]}); prints one JSON array of {"name", "verdict"} where verdict is true,
          false or "raise: <ExceptionType>: <text>".
"""

import argparse
import json
import sys
import threading
import time

import oslo_messaging
from oslo_config import cfg

PRIORITIES = ['audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample']
_print_lock = threading.Lock()


def emit(doc):
    line = json.dumps(doc)
    with _print_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def oslo_version():
    try:
        from importlib.metadata import version
        return version('oslo.messaging')
    except Exception:  # noqa: only informative
        return 'unknown'


def make_conf(args):
    conf = cfg.ConfigOpts()
    conf([], project='herald-interop')
    oslo_messaging.set_transport_defaults(control_exchange=args.exchange)
    return conf


def make_transport(conf, args):
    transport = oslo_messaging.get_notification_transport(conf, url=args.url)
    # Loading the rabbit driver registered its options; it connects (and declares) lazily, so
    # overrides set now still apply.
    if args.durable:
        conf.set_override('amqp_durable_queues', True, group='oslo_messaging_rabbit')
    if args.quorum:
        conf.set_override('rabbit_quorum_queue', True, group='oslo_messaging_rabbit')
    return transport


def payload_for(seq, priority):
    return {
        'seq': seq,
        'priority_sent': priority,
        'text': 'caf\u00e9 \u2603 \u65e5\u672c \U0001F600 "quoted" back\\slash\n\ttab',
        'nested': {'list': [1, 2.5, -3, True, False, None, 'x', {'deep': [[]]}],
                   'obj': {'k': 'v', '\u00fcml\u00e4ut': '\u00e9'}, 'empty': {}},
        'numbers': {'zero': 0, 'neg': -42, 'big': 2 ** 53 + 1, 'u64max': 2 ** 64 - 1,
                    'i64min': -2 ** 63, 'pi': 3.141592653589793, 'tiny': 1e-07,
                    'huge': 1.5e+300, 'tenth': 0.1},
        'empty_list': [],
        'nothing': None,
    }


def cmd_send(args):
    from oslo_messaging.notify import _impl_test
    conf = make_conf(args)
    transport = make_transport(conf, args)  # registers [oslo_messaging_notifications]
    conf.set_override('driver', [args.driver, 'test'],
                      group='oslo_messaging_notifications')
    notifier = oslo_messaging.Notifier(transport, publisher_id=args.publisher_id,
                                       topics=[args.topic])
    ctxt = json.loads(args.ctxt)
    if not args.plain_dict:
        from oslo_context import context as oslo_context
        ctxt = oslo_context.RequestContext.from_dict(ctxt)
    if args.request_context:
        from oslo_context import context as oslo_context
        ctxt = oslo_context.RequestContext(user_id='u1', project_id='p1', request_id='req-abc',
                                           auth_token='SECRET', roles=['admin'])
    if args.cli_style:
        # What oslo-messaging-send-notification does: no publisher_id, empty context, the
        # payload as a JSON *string*, and a lower-case priority passed straight to _notify.
        notifier = oslo_messaging.Notifier(transport, publisher_id=None, topics=[args.topic])
    priorities = args.priorities.split(',') if args.priorities else PRIORITIES
    _impl_test.reset()
    for seq in range(args.total):
        priority = priorities[seq % len(priorities)]
        if args.cli_style:
            notifier._notify({}, args.event_type, json.dumps(payload_for(seq, priority)), priority)
        else:
            getattr(notifier, priority)(ctxt, args.event_type, payload_for(seq, priority))
    sent = 0
    for ctx, message, priority, _retry in _impl_test.NOTIFICATIONS:
        fields = {k: message[k] for k in ('message_id', 'publisher_id', 'event_type',
                                          'priority', 'payload', 'timestamp')}
        if hasattr(ctx, 'to_dict'):
            ctx = ctx.to_dict()  # what pack_context flattens
        emit({'event': 'sent', 'priority': priority, 'ctxt': ctx, 'message': fields})
        sent += 1
    transport.cleanup()
    emit({'event': 'done', 'count': sent, 'oslo_messaging': oslo_version()})


class Recorder(object):
    def __init__(self, limit):
        self.count = 0
        self.limit = limit
        self.lock = threading.Lock()
        self.enough = threading.Event()

    def record(self, doc):
        emit(doc)
        with self.lock:
            self.count += 1
            if self.limit and self.count >= self.limit:
                self.enough.set()


def make_endpoint(recorder, batch):
    class Endpoint(object):
        pass

    endpoint = Endpoint()
    for name in PRIORITIES:
        if batch:
            def method(messages, _name=name):
                for m in messages:
                    doc = dict(m)
                    doc.update(event='msg', method=_name, batch=len(messages))
                    recorder.record(doc)
        else:
            def method(ctxt, publisher_id, event_type, payload, metadata, _name=name):
                recorder.record({'event': 'msg', 'method': _name, 'ctxt': ctxt,
                                 'publisher_id': publisher_id, 'event_type': event_type,
                                 'payload': payload, 'metadata': metadata})
        setattr(endpoint, name, method)
    return endpoint


def cmd_listen(args):
    conf = make_conf(args)
    transport = make_transport(conf, args)
    recorder = Recorder(args.count)
    endpoint = make_endpoint(recorder, args.batch_size is not None)
    targets = [oslo_messaging.Target(topic=args.topic)]
    if args.batch_size is not None:
        server = oslo_messaging.get_batch_notification_listener(
            transport, targets, [endpoint], executor='threading', pool=args.pool,
            batch_size=args.batch_size, batch_timeout=args.batch_timeout)
    else:
        server = oslo_messaging.get_notification_listener(
            transport, targets, [endpoint], executor='threading', pool=args.pool)
    server.start()
    emit({'event': 'ready'})

    def watch_stdin():
        sys.stdin.read()
        recorder.enough.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    recorder.enough.wait(args.timeout)
    server.stop()
    server.wait()
    transport.cleanup()
    emit({'event': 'done', 'count': recorder.count, 'oslo_messaging': oslo_version()})


def cmd_filter(args):
    with open(args.cases) as f:
        doc = json.load(f)
    out = []
    for case in doc['cases']:
        n = dict(doc['base'])
        n.update(case['notification'])
        try:
            rule = oslo_messaging.NotificationFilter(**case['filter'])
            verdict = bool(rule.match(n['context'], n['publisher_id'], n['event_type'],
                                      n['metadata'], n['payload']))
        except Exception as e:  # noqa: the verdict records what oslo raised
            verdict = 'raise: %s: %s' % (type(e).__name__, e)
        out.append({'name': case['name'], 'verdict': verdict})
    print(json.dumps(out))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest='command', required=True)
    for name in ('send', 'listen'):
        p = sub.add_parser(name)
        p.add_argument('--url', required=True)
        p.add_argument('--exchange', default='openstack')
        p.add_argument('--topic', required=True)
        p.add_argument('--durable', action='store_true',
                       help='amqp_durable_queues=true: durable exchange and queues')
        p.add_argument('--quorum', action='store_true',
                       help='rabbit_quorum_queue=true: quorum queues')
    send = sub.choices['send']
    send.add_argument('--driver', default='messagingv2')
    send.add_argument('--total', type=int, default=7)
    send.add_argument('--priorities', default='')
    send.add_argument('--publisher-id', default='compute.oslo-host')
    send.add_argument('--event-type', default='compute.instance.create.end')
    send.add_argument('--ctxt', default='{}')
    send.add_argument('--plain-dict', action='store_true',
                      help='send --ctxt as a plain dict (oslo >= 15 then sends no context)')
    send.add_argument('--request-context', action='store_true',
                      help='send a fixed RequestContext (user u1, with auth_token) instead of --ctxt')
    send.add_argument('--cli-style', action='store_true',
                      help='send as oslo-messaging-send-notification does')
    listen = sub.choices['listen']
    listen.add_argument('--pool', default=None)
    listen.add_argument('--count', type=int, default=0)
    listen.add_argument('--timeout', type=float, default=60.0)
    listen.add_argument('--batch-size', type=int, default=None)
    listen.add_argument('--batch-timeout', type=float, default=None)
    flt = sub.add_parser('filter')
    flt.add_argument('--cases', required=True)
    args = parser.parse_args()
    {'send': cmd_send, 'listen': cmd_listen, 'filter': cmd_filter}[args.command](args)


if __name__ == '__main__':
    main()
