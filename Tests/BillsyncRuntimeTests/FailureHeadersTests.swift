import BillsyncContracts
import BillsyncKafka
@testable import BillsyncRuntime
import Foundation
import Testing

@Suite("A dead letter keeps where its record came from and names the column of the refused field")
struct FailureHeadersTests {
    static func message(_ headers: [KafkaHeader]) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "billsync.upserts", partition: 0, offset: 7, key: nil, value: [], headers: headers)
    }

    @Test("the refused field's column comes from the record's columns; file, line and row stay", arguments: [
        ("/payload/fields/Amount_Due__c", "19"),
        ("/payload/nmi", "16"),
        ("/payload/fields/Unknown__c", nil),
    ] as [(String, String?)])
    func column(pointer: String, expected: String?) {
        let origin = [
            KafkaHeader(name: StageHeaders.originFile, string: "billing_export.csv"), KafkaHeader(name: StageHeaders.originLine, string: "42"),
            KafkaHeader(name: StageHeaders.originRow, string: "0001,Acme,1.005"),
            KafkaHeader(name: StageHeaders.originColumns, string: #"{"fields.Amount_Due__c":[19,"AmountDue"],"nmi":[16,"NMI"]}"#),
        ]
        let headers = FailureHistory.headers(for: Self.message(origin), failure: .permanent("rule.money", "too many decimals", pointer: pointer),
                                             attempts: 1, stage: "loader", group: "g", worker: "w", now: Date(), dueAt: nil)
        #expect(headers.last(named: StageHeaders.originColumn) == expected)
        #expect(headers.last(named: StageHeaders.originFile) == "billing_export.csv")
        #expect(headers.last(named: StageHeaders.originLine) == "42")
        #expect(headers.last(named: StageHeaders.originRow) == "0001,Acme,1.005")
    }
}
