import BillsyncContracts
import Foundation

/// One generated customer account, its premise and its latest bill.
struct SampleAccount {
    let customerId: String
    let accountId: String
    let personId: String
    let name: String
    let accountType: String
    let hierarchyLevel: String
    let parentAccountId: String
    let industry: String
    let representative: String
    let email: String
    let phone: String
    let street: String
    let place: (suburb: String, state: String, postcode: String, nmiPrefix: String)
    let nmi: String
    let tariff: String
    let serviceStart: String
    let amountDue: String
    let dueDate: String
    let lastBillDate: String
    let fytdRevenue: String
    let notes: String

    static let firstNames = ["Olivia", "Jack", "Mei", "Liam", "Priya", "Noah", "Aroha", "William", "Chloe", "Thomas", "Zoë", "Lachlan", "Renée", "Kai", "Isla", "Ahmed"]
    static let lastNames = ["Smith", "Nguyen", "Williams", "Brown", "O'Connor", "Patel", "Wilson", "Taylor", "Chen", "Kelly", "Anderson", "D'Arcy", "Singh", "Martin"]
    static let businessWords = ["Southbank", "Harbour", "Red Gum", "Coastal", "Outback", "Riverina", "Pacific", "Banksia", "Ironbark", "Wattle"]
    static let businessKinds = ["Cold Storage", "Logistics", "Dairy", "Hospitality", "Mining Services", "Health", "Retail", "Engineering"]
    static let industries = ["Logistics", "Agriculture", "Hospitality", "Mining", "Healthcare", "Retail", "Manufacturing", "Education"]
    static let representatives = ["Priya Natarajan", "Sam Walker", "Grace Liu", "Tom Fraser"]
    static let places: [(String, String, String, String)] = [
        ("Melbourne", "VIC", "3000", "6305"), ("Geelong", "VIC", "3220", "6407"), ("Sydney", "NSW", "2000", "4102"),
        ("Newcastle", "NSW", "2300", "4103"), ("Brisbane", "QLD", "4000", "3120"), ("Cairns", "QLD", "4870", "3051"),
        ("Adelaide", "SA", "5000", "2001"), ("Hobart", "TAS", "7000", "8000"), ("Perth", "WA", "6000", "8001"),
        ("Darwin", "NT", "0800", "2500"), ("Canberra", "ACT", "2600", "7001"),
    ]
    static let streets = ["Collins St", "George St", "Queen St", "King William St", "Murray St", "Smith St", "Hay St", "Mitchell St"]
    /// The retailer's product catalog: code, name, description, family, tariff, active (Y/N).
    static let productCatalog: [[String]] = [
        ["ELEC-FLAT", "Flat Rate Electricity", "One price for every kWh, any time of day.", "electricity", "EA010", "Y"],
        ["ELEC-TOU", "Time of Use Electricity", "Cheaper off-peak; suits a household that runs appliances at night.", "electricity", "EA025", "Y"],
        ["BIZ-FLAT", "Business Flat Rate", "Small business, one rate; \"no lock-in\" contract.", "electricity", "N70", "Y"],
        ["GAS-RES", "Residential Gas", "Reticulated natural gas for cooking, heating and hot water.", "gas", "G1", "Y"],
        ["SOLAR-FIT", "Solar Feed-in", "Credit for exported solar generation, paid per kWh.", "solar", "", "Y"],
        ["DUAL-FUEL", "Dual Fuel Bundle", "Electricity and gas on one bill, with a bundle discount.", "bundle", "", "Y"],
        ["ELEC-LEGACY", "Legacy Saver Plan", "Closed to new customers.", "electricity", "EA010", "N"],
    ]
    static let tariffs = ["EA010", "EA025", "N70", "BLNT3AL", "TOU1", "G1", "SMALLBUS"]
    /// The tariffs' reference data: code, name, commodity, unit rate ($/kWh or $/MJ), daily supply ($/day).
    static let tariffTable: [[String]] = [
        ["EA010", "Residential flat rate", "electricity", "0.284350", "1.045000"],
        ["EA025", "Residential time of use", "electricity", "0.391200", "1.112500"],
        ["N70", "Small business flat", "electricity", "0.305500", "1.320000"],
        ["BLNT3AL", "Business low voltage time of use", "electricity", "0.268900", "2.480000"],
        ["TOU1", "Time of use (peak, shoulder, off-peak)", "electricity", "0.352100", "1.205000"],
        ["G1", "Residential gas", "gas", "0.036200", "0.910000"],
        ["SMALLBUS", "Small business gas", "gas", "0.033900", "1.640000"],
    ]

    init(index: Int, random: inout SplitMix64) {
        customerId = String(format: "%010d", 1_000 + index)
        accountId = "ACC-\(customerId)"
        personId = "P-\(700_000 + index)"
        // One block of nine accounts in five is a commercial hierarchy: C1, then two C2s with three C3s each.
        let block = index / 9
        let position = index % 9
        let commercial = block % 5 == 0
        func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &random)] }
        if commercial {
            let root = String(format: "%010d", 1_000 + block * 9)
            let group = "\(pick(Self.businessWords)) \(pick(Self.businessKinds))"
            accountType = "commercial"
            switch position {
            case 0:
                hierarchyLevel = "C1"
                parentAccountId = ""
                name = "\(group) Group Pty Ltd"
            case 1, 5:
                hierarchyLevel = "C2"
                parentAccountId = "ACC-\(root)"
                name = "\(group) \(position == 1 ? "North" : "South"), Division"
            default:
                hierarchyLevel = "C3"
                parentAccountId = "ACC-\(String(format: "%010d", 1_000 + block * 9 + (position < 5 ? 1 : 5)))"
                name = "\(group) Site \(position)"
            }
            industry = pick(Self.industries)
            representative = pick(Self.representatives)
        } else {
            accountType = "residential"
            hierarchyLevel = ""
            parentAccountId = ""
            name = "\(pick(Self.firstNames)) \(pick(Self.lastNames))"
            industry = ""
            representative = ""
        }
        let slug = name.lowercased().filter { $0.isASCII && $0.isLetter }.prefix(16)
        email = "\(slug)\(index)@example.com.au"
        phone = "04\(String(format: "%02d", Int.random(in: 0..<100, using: &random))) \(String(format: "%03d", Int.random(in: 0..<1000, using: &random))) \(String(format: "%03d", Int.random(in: 0..<1000, using: &random)))"
        street = "\(Int.random(in: 1..<400, using: &random)) \(pick(Self.streets))"
        place = pick(Self.places)
        let body = place.3 + String(format: "%06d", index % 1_000_000)
        nmi = body + String(NationalMeteringIdentifier.checksum(of: body)!)
        tariff = pick(Self.tariffs)
        serviceStart = String(format: "20%02d-%02d-%02d", Int.random(in: 5...25, using: &random), Int.random(in: 1...12, using: &random), Int.random(in: 1...28, using: &random))
        let cents = commercial ? Int.random(in: 50_000...2_500_000, using: &random) : Int.random(in: 2_000...90_000, using: &random)
        amountDue = String(format: "%d.%02d", cents / 100, cents % 100)
        let month = Int.random(in: 1...10, using: &random)
        let day = Int.random(in: 1...28, using: &random)
        lastBillDate = String(format: "2026-%02d-%02d", month, day)
        dueDate = String(format: "2026-%02d-%02d", month + 1, day)
        let revenue = cents * Int.random(in: 3...10, using: &random)
        fytdRevenue = String(format: "%d.%02d", revenue / 100, revenue % 100)
        // Now and then a note with a comma, a quote and a line break, as people type them.
        notes = index % 97 == 0 ? "Called re \"estimated read\", will\nsend photo of meter" : ""
    }

    var csvRow: [String] {
        [customerId, accountId, personId, name, accountType, hierarchyLevel, parentAccountId, industry, representative,
         email, phone, street, place.suburb, place.state, place.postcode, nmi, tariff, serviceStart, amountDue, dueDate,
         lastBillDate, fytdRevenue, notes]
    }

    func readingRow(number: Int, random: inout SplitMix64) -> [String] {
        let kwh = Int.random(in: 1_000...9_000_000, using: &random)
        let quality = ["A", "A", "A", "E", "S"][Int.random(in: 0..<5, using: &random)]
        return ["MTR-\(nmi.prefix(10))-\(number + 1)", nmi, String(format: "2026-%02d-15", 1 + number % 12),
                String(format: "%d.%03d", kwh / 1000, kwh % 1000), "kWh", quality]
    }
}
