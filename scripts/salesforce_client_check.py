"""Drives the Salesforce emulator with simple-salesforce, the most used Python client, as the
fidelity check of its responses (Tests/BillsyncSandboxTests). Usage:

  salesforce_client_check.py EMULATOR_URL PRIVATE_KEY_FILE

The client only speaks https to *.salesforce.com; a transport adapter sends those requests to
the emulator instead, with the host they were meant for as their Host header (so a token request
to the org's My Domain arrives as one), unchanged otherwise. Prints one JSON object with what the
client saw.
"""
import json
import sys
import urllib.parse

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest


def session_for(emulator):
    target = urllib.parse.urlsplit(emulator)

    class ToEmulator(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):
            parts = urllib.parse.urlsplit(request.url)
            request.headers["Host"] = parts.netloc
            request.url = urllib.parse.urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))
            return super().send(request, **kwargs)

    session = requests.Session()
    session.mount("https://", ToEmulator())
    session.mount("http://", ToEmulator())
    return session


def main():
    emulator, key_file = sys.argv[1], sys.argv[2]
    seen = {}
    session = session_for(emulator)

    jwt_client = Salesforce(username="integration@billsync.example", consumer_key="billsync-sandbox",
                            privatekey_file=key_file, session=session)
    seen["jwt_session"] = bool(jwt_client.session_id)

    # Client credentials only on the org's My Domain (billsync-sandbox.my.salesforce.com).
    client = Salesforce(consumer_key="billsync-sandbox", consumer_secret="sandbox-secret",
                        domain="billsync-sandbox.my", session=session)
    seen["client_credentials_session"] = bool(client.session_id)

    seen["upsert_created"] = client.Account.upsert("Billing_Customer_Id__c/0001234567", {"Name": "Acme Pty Ltd"})
    seen["upsert_updated"] = client.Account.upsert("Billing_Customer_Id__c/0001234567", {"Amount_Due__c": 1523.4})
    try:
        client.Account.upsert("Billing_Customer_Id__c/0009999999", {"Industry": "Mining"})
    except SalesforceMalformedRequest as error:
        seen["upsert_error"] = error.content[0]["errorCode"]

    records = [{"Billing_Customer_Id__c": f"{n:010d}", "Name": f"Bulk {n}"} for n in range(1, 8)]
    records.append({"Billing_Customer_Id__c": "0000000099", "Name": ""})
    results = client.bulk2.Account.upsert(records=records, external_id_field="Billing_Customer_Id__c", wait=1)
    seen["bulk_processed"] = sum(int(r["numberRecordsProcessed"]) for r in results)
    seen["bulk_failed"] = sum(int(r["numberRecordsFailed"]) for r in results)
    failed = client.bulk2.Account.get_failed_records(results[0]["job_id"])
    seen["bulk_failed_csv"] = failed

    expired = Salesforce(instance_url=emulator, session_id="00Dexpired!token", session=session)
    try:
        expired.Account.upsert("Billing_Customer_Id__c/0001234567", {"Name": "X"})
    except SalesforceExpiredSession:
        seen["expired_session"] = "SalesforceExpiredSession"
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
