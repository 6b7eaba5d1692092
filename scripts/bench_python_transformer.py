"""The fair Python reference for `billsync-bench transformer`: what a team would otherwise write,
doing the transformer's work for accounts, bills and premises with confluent-kafka.

The same work as billsync-transformer:
- every input is parsed once and validated against Schemas/envelope.v1.schema.json and then its
  type's payload schema (fastjsonschema, compiled once at startup; the schema major and minor
  version are checked as billsync does);
- Deploy/transformer/mapping.yaml is read and applied: the external id, each field's rules (trim,
  lower, upper, required, max-length, one-of, email, money, date, range, nmi-checksum, lookup from
  the tariffs table), refused records go to the dead-letter topic naming rule and field;
- every upsert is wrapped in a derived envelope (the same derived id as billsync), validated
  against the envelope and crm-upsert schemas before it is written, and carries the input's
  lineage headers with its columns renamed to the upsert's fields;
- change suppression in memory: an upsert whose fields equal the last acknowledged one for its
  record is not sent again.
The same Kafka discipline: chunks of at most 500 messages; producer acks=all, idempotence, lz4,
linger.ms 5 (as KafkaProducerConfiguration); a chunk's outputs are enqueued, then the previous
chunk's acknowledgements are awaited, and only then its offsets stored; stored offsets are
committed every 2 s (auto commit of manually stored offsets, as billsync's consumer).

It runs until SIGTERM and serves /metrics (billsync_messages_consumed_total and
billsync_messages_produced_total by topic) on BILLSYNC_HTTP_PORT, so the benchmark times it
exactly as it times the Swift workers. Extra librdkafka consumer properties come from
BILLSYNC_KAFKA_PROPERTY_<NAME> as for the workers (the benchmark passes the workers' prefetch limits).

Usage: bench_python_transformer.py BROKERS GROUP INPUT_TOPICS(comma separated) OUTPUT_TOPIC DLQ_TOPIC SCHEMAS_DIR MAPPING_FILE
"""
import csv
import glob
import json
import os
import re
import signal
import sys
import threading
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, HTTPServer

import fastjsonschema
import yaml
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

CHUNK = 500
KNOWN_MINOR = {1: 0}


# --- contracts ---------------------------------------------------------------------------------

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt]([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_date(text):
    if not DATE.match(text):
        return False
    try:
        date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        return False
    return True


def is_date_time(text):
    match = DATE_TIME.match(text)
    return bool(match) and is_date(match.group(1))


FORMATS = {"date": is_date, "date-time": is_date_time, "uuid": lambda text: bool(UUID.match(text))}


class Contracts:
    """Every *.schema.json compiled once; refs between files resolved by $id."""

    def __init__(self, directory):
        self.documents = {}
        for path in sorted(glob.glob(os.path.join(directory, "*.schema.json"))):
            with open(path, encoding="utf-8") as file:
                document = json.load(file)
            self.documents[document["$id"]] = document
        handlers = {"https": lambda uri: self.documents[uri.split("#")[0]]}
        self.compiled = {}
        for uri, document in self.documents.items():
            name = uri.rsplit("/", 1)[-1].replace(".schema.json", "")
            self.compiled[name] = fastjsonschema.compile(document, handlers=handlers, formats=FORMATS, use_default=False)

    def check(self, document):
        """Envelope, then version, then payload (as MessageContracts.validate). Raises ValueError."""
        try:
            self.compiled["envelope.v1"](document)
        except fastjsonschema.JsonSchemaValueException as error:
            raise ValueError(f"schema.envelope: {error.message}") from None
        parts = document["schemaVersion"].split(".")
        major, minor = int(parts[0]), int(parts[1])
        if KNOWN_MINOR.get(major, -1) < minor:
            raise ValueError(f"unsupported-version {document['schemaVersion']}")
        try:
            self.compiled[f"{document['type']}.v{major}"](document["payload"])
        except fastjsonschema.JsonSchemaValueException as error:
            raise ValueError(f"schema.payload: {error.message}") from None


def derived_id(name):
    """billsync's UUID(derivedFrom:): two FNV-1a hashes, marked version 8."""
    data = name.encode()

    def fnv1a(seed):
        value = seed
        for byte in data:
            value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        return value

    raw = bytearray(fnv1a(0xCBF29CE484222325).to_bytes(8, "big") + fnv1a(0x6C62272E07BB0142).to_bytes(8, "big"))
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex().upper()
    return f"{text[0:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}"


def write_json(value):
    """Compact JSON with decimals written digit for digit (never through a float)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(key, ensure_ascii=False) + ":" + write_json(item) for key, item in value.items()) + "}"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, list):
        return "[" + ",".join(write_json(item) for item in value) + "]"
    return json.dumps(value)


def decimal_text(value):
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# --- the mapping file --------------------------------------------------------------------------

class Rejection(Exception):
    def __init__(self, rule, field, message):
        super().__init__(f"{field}: {message} [{rule}]")
        self.rule, self.field = rule, field


ABSENT = object()
ROUNDING = {"half-even": ROUND_HALF_EVEN, "half-up": ROUND_HALF_UP, "down": ROUND_DOWN}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MONEY = re.compile(r"-?\d+(\.\d+)?")


def as_text(value):
    if value is ABSENT:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    return value


def nmi_checksum(nmi):
    total, double = 0, True
    for character in reversed(nmi):
        value = ord(character) * (2 if double else 1)
        double = not double
        while value > 0:
            total += value % 10
            value //= 10
    return (10 - total % 10) % 10


NMI_CHARACTERS = re.compile(r"[A-HJ-NP-Z0-9]{10}[0-9]")


def compile_rule(rule, lookups):
    """One rule of the mapping file as a function (value, field) -> value, raising Rejection."""
    name, parameters = (rule, None) if isinstance(rule, str) else next(iter(rule.items()))

    def reject(field, message):
        raise Rejection(name, field, message)

    if name == "trim":
        def apply(value, field):
            if not isinstance(value, str):
                return value
            trimmed = value.strip()
            return trimmed if trimmed else ABSENT
    elif name == "lower":
        def apply(value, field):
            return value.lower() if isinstance(value, str) else value
    elif name == "upper":
        def apply(value, field):
            return value.upper() if isinstance(value, str) else value
    elif name == "required":
        def apply(value, field):
            if value is ABSENT or value == "":
                reject(field, "is required")
            return value
    elif name == "max-length":
        limit = int(parameters)

        def apply(value, field):
            text = as_text(value)
            if text is not None and len(text) > limit:
                reject(field, f"is {len(text)} characters, at most {limit} are allowed")
            return value
    elif name == "one-of":
        allowed = set(str(item) for item in parameters)

        def apply(value, field):
            text = as_text(value)
            if text is not None and text not in allowed:
                reject(field, f"'{text}' is not one of {', '.join(parameters)}")
            return value
    elif name == "email":
        def apply(value, field):
            text = as_text(value)
            if text is not None and not EMAIL.fullmatch(text):
                reject(field, f"'{text}' is not an email address")
            return value
    elif name == "money":
        parameters = parameters or {}
        exponent = Decimal(1).scaleb(-int(parameters.get("scale", 2)))
        rounding = parameters.get("rounding", "half-even")

        def apply(value, field):
            text = as_text(value)
            if text is None:
                return value
            if not MONEY.fullmatch(text):
                reject(field, f"'{text}' is not an amount")
            amount = Decimal(text)
            if rounding == "refuse":
                rounded = amount.quantize(exponent, rounding=ROUND_HALF_UP)
                if rounded != amount:
                    reject(field, f"'{text}' has too many decimals")
                return rounded
            return amount.quantize(exponent, rounding=ROUNDING[rounding])
    elif name == "date":
        formats = parameters if isinstance(parameters, list) else (parameters or {}).get("formats", ["yyyy-MM-dd"])
        if formats != ["yyyy-MM-dd"]:
            raise NotImplementedError(f"date formats {formats}: the benchmark's records are canonical")

        def apply(value, field):
            text = as_text(value)
            if text is None:
                return value
            if not is_date(text):
                reject(field, f"'{text}' is not a date in yyyy-MM-dd")
            return text
    elif name == "range":
        minimum = parameters.get("min")
        maximum = parameters.get("max")
        minimum = None if minimum is None else Decimal(str(minimum))
        maximum = None if maximum is None else Decimal(str(maximum))

        def apply(value, field):
            text = as_text(value)
            if text is None:
                return value
            try:
                number = Decimal(text)
            except InvalidOperation:
                reject(field, f"'{text}' is not a number")
            if minimum is not None and number < minimum:
                reject(field, f"{number} is below the minimum {minimum}")
            if maximum is not None and number > maximum:
                reject(field, f"{number} is above the maximum {maximum}")
            return value
    elif name == "nmi-checksum":
        def apply(value, field):
            text = as_text(value)
            if text is None:
                return value
            if not NMI_CHARACTERS.fullmatch(text) or nmi_checksum(text[:10]) != int(text[10]):
                reject(field, f"'{text}' does not have a valid NMI check digit")
            return value
    elif name == "lookup":
        table = lookups[parameters]

        def apply(value, field):
            text = as_text(value)
            if text is None:
                return value
            if text not in table:
                reject(field, f"'{text}' is not in the {parameters} table")
            return table[text]
    else:
        raise NotImplementedError(f"rule {name}: not used by the benchmark's record types")
    return apply


def value_at(payload, path):
    value = payload
    for part in path:
        if not isinstance(value, dict):
            return ABSENT
        value = value.get(part)
    return ABSENT if value is None else value


class ObjectMapping:
    def __init__(self, entry, lookups):
        self.object = entry["object"]
        external = entry["externalId"]
        self.external_id_field = external["field"]
        sources = external["from"] if isinstance(external["from"], list) else [external["from"]]
        self.external_id_from = [(source, source.split(".")) for source in sources]
        self.fields = [(field["from"], field["from"].split("."), field.get("to"),
                        [compile_rule(rule, lookups) for rule in field.get("rules", [])]) for field in entry["fields"]]

    def apply(self, payload):
        parts = []
        for source, path in self.external_id_from:
            part = as_text(value_at(payload, path))
            if not part:
                raise Rejection("external-id", source, f"is required for {self.object}.{self.external_id_field}")
            parts.append(part)
        fields = {}
        for source, path, target, rules in self.fields:
            value = value_at(payload, path)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = Decimal(str(value))
            for rule in rules:
                value = rule(value, source)
            if target is not None and value is not ABSENT:
                fields[target] = value
        return {"externalId": "|".join(parts), "externalIdField": self.external_id_field, "fields": dict(sorted(fields.items())),
                "object": self.object}


def load_mapping(path, types):
    with open(path, encoding="utf-8") as file:
        document = yaml.safe_load(file)
    lookups = {}
    for name, lookup in (document.get("lookups") or {}).items():
        with open(os.path.join(os.path.dirname(path), lookup["file"]), encoding="utf-8", newline="") as file:
            lookups[name] = {row[lookup["key"]]: row[lookup["value"]] for row in csv.DictReader(file)}
    mappings = {}
    for entry in document["objects"]:
        if entry["source"] in types:
            mappings.setdefault(entry["source"], []).append(ObjectMapping(entry, lookups))
    return mappings


# --- the stage ---------------------------------------------------------------------------------

class Counters:
    def __init__(self):
        self.consumed = {}
        self.produced = {}

    def render(self):
        lines = []
        for name, table in (("billsync_messages_consumed_total", self.consumed), ("billsync_messages_produced_total", self.produced)):
            lines.append(f"# TYPE {name} counter")
            for topic, count in list(table.items()):
                lines.append(f'{name}{{stage="python",topic="{topic}"}} {count}')
        return ("\n".join(lines) + "\n").encode()


def serve_metrics(counters, port):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = counters.render()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def extra_properties():
    prefix = "BILLSYNC_KAFKA_PROPERTY_"
    return {name[len(prefix):].lower().replace("_", "."): value for name, value in os.environ.items() if name.startswith(prefix)}


class Transformer:
    def __init__(self, contracts, mappings, output, dlq):
        self.contracts, self.mappings, self.output, self.dlq = contracts, mappings, output, dlq
        self.suppression = {}
        self.unacknowledged = set()

    def handle(self, message):
        """The messages one input yields: its upserts, or itself as a dead letter."""
        headers = message.headers() or []
        try:
            value = message.value()
            if value.startswith(b"\xef\xbb\xbf"):
                raise ValueError("not-json: a byte order mark")
            envelope = json.loads(value, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
            self.contracts.check(envelope)
            outputs = []
            columns = None
            lineage = []
            for name, value in headers:
                if name == "billsync.origin.columns":
                    columns = json.loads(value)
                elif name in ("billsync.origin.file", "billsync.origin.line", "billsync.origin.row", "billsync.source"):
                    lineage.append((name, value))
            for index, mapping in enumerate(self.mappings.get(envelope["type"], [])):
                upsert = mapping.apply(envelope["payload"])
                fields_text = write_json(upsert["fields"])
                identity = (upsert["object"], upsert["externalId"], ",".join(upsert["fields"]))
                if self.suppression.get(identity) == fields_text or (identity, fields_text) in self.unacknowledged:
                    continue
                out = {"businessKey": envelope["businessKey"], "causationId": envelope["id"], "correlationId": envelope["correlationId"],
                       "extractedAt": envelope["extractedAt"], "id": derived_id(f"{envelope['id']}|crm-upsert|{index}"),
                       "occurredAt": envelope["occurredAt"], "payload": upsert, "schemaVersion": "1.0",
                       "source": {"name": envelope["source"]["name"], "system": "billsync"}, "type": "crm-upsert"}
                self.contracts.check(out)
                out_headers = [("billsync.correlation-id", envelope["correlationId"].encode())] + lineage
                if columns is not None:
                    renamed = {f"fields.{target}": columns[source] for source, _, target, _ in mapping.fields
                               if target is not None and source in columns}
                    if len(mapping.external_id_from) == 1 and mapping.external_id_from[0][0] in columns:
                        renamed["externalId"] = columns[mapping.external_id_from[0][0]]
                    if renamed:
                        out_headers.append(("billsync.origin.columns", json.dumps(renamed, separators=(",", ":")).encode()))
                out_headers.append(("billsync.written-by", b"python"))
                outputs.append((self.output, envelope["businessKey"], write_json(out).encode(), out_headers, (identity, fields_text)))
            return outputs
        except (ValueError, KeyError, TypeError, Rejection) as error:
            reason = str(error).encode()[:1000]
            return [(self.dlq, message.key(), message.value(), headers + [("billsync.error.message", reason)], None)]


def main():
    brokers, group, inputs, output, dlq, schemas, mapping_file = sys.argv[1:8]
    contracts = Contracts(schemas)
    mappings = load_mapping(mapping_file, {"billing-account", "billing-bill", "billing-premise"})
    transformer = Transformer(contracts, mappings, output, dlq)
    counters = Counters()
    serve_metrics(counters, int(os.environ.get("BILLSYNC_HTTP_PORT", "9464")))
    extra = extra_properties()
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "auto.offset.reset": "earliest",
                         "partition.assignment.strategy": "cooperative-sticky", "session.timeout.ms": 45000,
                         "enable.auto.offset.store": False, "enable.auto.commit": True, "auto.commit.interval.ms": 2000,
                         "enable.partition.eof": False, **extra})
    producer = Producer({"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True, "linger.ms": 5,
                         "compression.codec": "lz4", "message.timeout.ms": 120000, "queue.buffering.max.messages": 100000})
    consumer.subscribe(inputs.split(","))
    stopping = threading.Event()
    # A process started from a thread that blocks signals inherits the mask: take them back.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGALRM})
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    class Chunk:
        def __init__(self, messages, outputs):
            self.messages, self.outputs = messages, outputs
            self.waiting, self.error = len(outputs), None

        def delivered(self, error, _message):
            if error is not None:
                self.error = error
            self.waiting -= 1

    def complete(chunk):
        """Waits for the chunk's acknowledgements, then stores its offsets (at least once)."""
        while chunk.waiting > 0:
            producer.poll(0.001)
        if chunk.error is not None:
            raise KafkaException(chunk.error)
        for topic, *_ in chunk.outputs:
            counters.produced[topic] = counters.produced.get(topic, 0) + 1
        for _, _, _, _, suppression in chunk.outputs:
            if suppression is not None:
                identity, fields_text = suppression
                transformer.suppression[identity] = fields_text
                transformer.unacknowledged.discard(suppression)
        highest = {}
        for message in chunk.messages:
            highest[(message.topic(), message.partition())] = message.offset() + 1
        consumer.store_offsets(offsets=[TopicPartition(topic, partition, offset) for (topic, partition), offset in highest.items()])

    previous = None
    while not stopping.is_set():
        messages = [message for message in consumer.consume(num_messages=CHUNK, timeout=0.1) if message.error() is None]
        if not messages:
            if previous is not None:
                complete(previous)
                previous = None
            continue
        for message in messages:
            counters.consumed[message.topic()] = counters.consumed.get(message.topic(), 0) + 1
        outputs = []
        for message in messages:
            outputs.extend(transformer.handle(message))
        chunk = Chunk(messages, outputs)
        for topic, key, value, headers, suppression in outputs:
            if suppression is not None:
                transformer.unacknowledged.add(suppression)
            producer.produce(topic, key=key, value=value, headers=headers, on_delivery=chunk.delivered)
        producer.poll(0)
        if previous is not None:
            complete(previous)
        previous = chunk
    if previous is not None:
        complete(previous)
    signal.alarm(20)  # a close that hangs (a broker gone) must not keep the process
    consumer.close()
    producer.flush(30)


if __name__ == "__main__":
    main()
