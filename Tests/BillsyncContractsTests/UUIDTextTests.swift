import BillsyncContracts
import Foundation
import Testing

@Suite("A message id's text is Foundation's, without its formatter")
struct UUIDTextTests {
    @Test("written as uuidString writes it, and read back from either case")
    func sameAsFoundation() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.text == id.uuidString)
            #expect(UUID(text: id.uuidString) == id)
            #expect(UUID(text: id.uuidString.lowercased()) == id)
        }
    }

    @Test("what UUID(uuidString:) refuses is refused", arguments: [
        "", "E621E1F8-C36C-495A-93FC-0C247A3E6E5", "E621E1F8-C36C-495A-93FC-0C247A3E6E5FF", "E621E1F8C36C-495A-93FC-0C247A3E6E5F0",
        "E621E1F8-C36C-495A-93FC-0C247A3E6E5G", "{E621E1F8-C36C-495A-93FC-0C247A3E6E5F}", "E621E1F8-C36C-495A-93FC_0C247A3E6E5F",
        "é621E1F8-C36C-495A-93FC-0C247A3E6E5F",
    ])
    func refusals(text: String) {
        #expect(UUID(text: text) == nil)
        #expect(UUID(uuidString: text) == nil)
    }
}
