"""What a user would otherwise write: a small Python stage with confluent-kafka doing the
transformer's mapping for bills (seed 000's AmountDue and LastBillDate to Salesforce fields).
Used by `billsync-bench transformer` as the reference. At least once, as billsync: offsets are
committed only after the outputs were flushed.

Usage: bench_python_transformer.py BROKERS INPUT_TOPIC OUTPUT_TOPIC COUNT  -> prints "<count> <seconds>"
"""
import json
import sys
import time
import uuid
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from confluent_kafka import Consumer, Producer


def map_bill(envelope):
    payload = envelope["payload"]
    amount = Decimal(payload["amountDue"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    last_bill = date.fromisoformat(payload["lastBillDate"]).isoformat()
    due = date.fromisoformat(payload["dueDate"]).isoformat()
    upsert = {"object": "Account", "externalIdField": "Billing_Customer_Id__c", "externalId": payload["customerId"],
              "fields": {"Amount_Due__c": str(amount), "Last_Bill_Date__c": last_bill, "Due_Date__c": due}}
    return {**{k: envelope[k] for k in ("schemaVersion", "source", "businessKey", "correlationId", "occurredAt", "extractedAt")},
            "id": str(uuid.uuid4()), "type": "crm-upsert", "causationId": envelope["id"], "payload": upsert}


def main():
    brokers, source, target, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"py-{uuid.uuid4()}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, "queued.min.messages": 1000000})
    producer = Producer({"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    consumer.subscribe([source])
    done = 0
    started = None
    while done < count:
        messages = consumer.consume(num_messages=500, timeout=1.0)
        for message in messages:
            if message.error():
                continue
            if started is None:
                started = time.monotonic()
            envelope = json.loads(message.value())
            out = map_bill(envelope)
            producer.produce(target, key=message.key(), value=json.dumps(out, separators=(",", ":")).encode())
            done += 1
        if messages:
            producer.flush()
            consumer.commit(asynchronous=False)
    elapsed = time.monotonic() - started
    consumer.close()
    print(f"{done} {elapsed:.3f}")


if __name__ == "__main__":
    main()
