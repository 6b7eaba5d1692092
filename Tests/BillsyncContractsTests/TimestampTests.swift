import BillsyncContracts
import Foundation
import Testing

@Suite("A timestamp is read as RFC 3339 says, to the millisecond, the same instant Foundation reads")
struct TimestampTests {
    @Test("the instant of each form: Z, offsets east and west, fractions, lower-case t and z, a leap day, far dates", arguments: [
        "2026-11-21T00:00:00Z", "2026-11-20T09:15:00.125+10:00", "2026-03-29T01:30:00-05:30", "2024-02-29T23:59:59.999Z",
        "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2099-12-31t12:00:00.5z", "2026-11-21T10:00:00.1234567+14:00",
    ])
    func sameInstantAsFoundation(text: String) throws {
        let timestamp = try #require(Timestamp(parsing: text))
        let foundation = try Date.ISO8601FormatStyle(includingFractionalSeconds: text.contains(".")).parse(text.uppercased())
        #expect(abs(timestamp.date.timeIntervalSince1970 - foundation.timeIntervalSince1970) < 0.001)
        #expect(timestamp.text == text)
    }

    @Test("dates before 1582 are proleptic Gregorian, as RFC 3339 says (Foundation's calendar turns Julian there)")
    func prolepticGregorian() throws {
        #expect(try #require(Timestamp(parsing: "0001-01-01T00:00:00Z")).date.timeIntervalSince1970 == -62_135_596_800)
    }

    @Test("what is not an RFC 3339 date-time with an offset is refused", arguments: [
        "2026-11-21T00:00:00", "2026-11-21 00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T00:00:00.Z",
        "2026-11-21T00:00:00+1000", "2026-1-21T00:00:00Z", "2026-11-21T00:00:00+10:60", "", "２０２６-11-21T00:00:00Z",
    ])
    func refused(text: String) {
        #expect(Timestamp(parsing: text) == nil)
    }
}
