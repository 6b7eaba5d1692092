import Foundation

extension SampleDataGenerator {
    /// Loads the same accounts (same seed, same values, without the deliberate anomalies) into
    /// the billing engine emulator's store: accounts, contacts, premises, bills, meter readings,
    /// each changed one second after the previous, so incremental exports have something to page.
    public func load(into store: BillingStore, changedFrom start: Date = Date(timeIntervalSince1970: 1_793_491_200)) throws -> Int {
        var random = SplitMix64(seed: options.seed)
        var batches: [String: [(key: String, updatedAt: String, json: String)]] = [:]
        func encode(_ object: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        func flush() throws {
            for (entity, records) in batches { try store.put(entity: entity, records: records) }
            batches = [:]
        }
        for index in 0..<options.accounts {
            let account = SampleAccount(index: index, random: &random)
            // Keep the generator's random sequence aligned with writeCSV's.
            _ = Double.random(in: 0..<1, using: &random)
            let changed = start.addingTimeInterval(Double(index)).formatted(.iso8601)
            let address: [String: Any] = ["line1": account.street, "suburb": account.place.suburb, "state": account.place.state,
                                          "postcode": account.place.postcode]
            var accountRecord: [String: Any] = [
                "customer_id": account.customerId, "account_id": account.accountId, "person_id": account.personId,
                "name": account.name, "account_type": account.accountType, "email": account.email, "phone": account.phone,
                "address": address, "status": "active", "updated_at": changed,
            ]
            if !account.hierarchyLevel.isEmpty { accountRecord["hierarchy_level"] = account.hierarchyLevel }
            if !account.parentAccountId.isEmpty { accountRecord["parent_account_id"] = account.parentAccountId }
            if !account.industry.isEmpty { accountRecord["industry"] = account.industry }
            if !account.representative.isEmpty { accountRecord["account_representative"] = account.representative }
            batches["accounts", default: []].append((account.customerId, changed, try encode(accountRecord)))
            let names = account.name.split(separator: " ", maxSplits: 1)
            batches["contacts", default: []].append((account.customerId, changed, try encode([
                "contact_id": "C-\(account.customerId)", "account_id": account.accountId, "customer_id": account.customerId,
                "first_name": names.count > 1 ? String(names[0]) : NSNull(), "last_name": String(names.last ?? ""),
                "email": account.email, "phone": account.phone, "is_primary": true, "updated_at": changed,
            ])))
            batches["premises", default: []].append((account.nmi, changed, try encode([
                "premise_id": "PR-\(account.customerId)", "account_id": account.accountId, "nmi": account.nmi, "address": address,
                "active": true, "service_start_date": account.serviceStart, "tariff_code": account.tariff, "updated_at": changed,
            ])))
            batches["bills", default: []].append(("BILL-\(account.customerId)", changed, try encode([
                "bill_id": "BILL-\(account.customerId)", "account_id": account.accountId, "customer_id": account.customerId,
                "amount_due": account.amountDue, "due_date": account.dueDate, "last_bill_date": account.lastBillDate,
                "fytd_revenue": account.fytdRevenue, "currency": "AUD", "status": "issued", "updated_at": changed,
            ])))
            for number in 0..<options.readingsPerAccount {
                let row = account.readingRow(number: number, random: &random)
                _ = Double.random(in: 0..<1, using: &random)
                batches["meter-readings", default: []].append(("\(row[0])|\(row[2])", changed, try encode([
                    "meter_id": row[0], "nmi": row[1], "reading_date": row[2], "reading": row[3], "unit": row[4],
                    "quality": row[5], "updated_at": changed,
                ])))
            }
            if index % 5_000 == 4_999 { try flush() }
        }
        for tariff in SampleAccount.tariffTable {
            batches["tariffs", default: []].append((tariff[0], start.formatted(.iso8601), try encode([
                "tariff_code": tariff[0], "name": tariff[1], "commodity": tariff[2], "unit_rate": tariff[3],
                "daily_supply_charge": tariff[4], "effective_from": "2026-07-01", "updated_at": start.formatted(.iso8601),
            ])))
        }
        try flush()
        return options.accounts
    }
}
