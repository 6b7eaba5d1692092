import BillsyncJSON
import Testing

@Suite("A payload path writes a canonical record's nested fields and reads them back")
struct PayloadPathTests {
    @Test("values set by dotted paths make the objects on the way, keep their siblings, and read back; a missing step reads as nil")
    func setAndRead() {
        var record = JSONObject()
        PayloadPath("primaryAddress.postcode").set(.string("2000"), in: &record)
        PayloadPath("primaryAddress.state").set(.string("NSW"), in: &record)
        PayloadPath("name").set(.string("Acme"), in: &record)
        #expect(JSONValue.object(record).serialized() == Array(#"{"primaryAddress":{"postcode":"2000","state":"NSW"},"name":"Acme"}"#.utf8))
        #expect(PayloadPath("primaryAddress.state").value(in: record) == .string("NSW"))
        #expect(PayloadPath("name").value(in: record) == .string("Acme"))
        #expect(PayloadPath("billingAddress.state").value(in: record) == nil)
        #expect(PayloadPath("name.first").value(in: record) == nil)
    }
}
