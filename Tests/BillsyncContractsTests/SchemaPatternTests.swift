import BillsyncJSON
import Foundation
import Testing

@Suite("A schema's pattern matches what ECMA-262 matches")
struct SchemaPatternTests {
    func accepts(_ pattern: String, _ text: String) throws -> Bool {
        var compiler = SchemaCompiler()
        let schema = JSONValue.object(JSONObject(["$id": .string("https://x.test/p"), "pattern": .string(pattern)]))
        let id = try compiler.add(schema, name: "test")
        return try #require(try compiler.compileAll()[id]).validate(.string(text)).isEmpty
    }

    /// Every pattern in Schemas/, and a few more shapes, with strings on both sides of each rule.
    static let cases: [(pattern: String, accepted: [String], refused: [String])] = [
        (#"^-?(0|[1-9][0-9]{0,12})(\.[0-9]{1,2})?$"#, ["0", "-12.3", "1234.50", "9999999999999.99"], ["", "01", "1.234", "1,000", "12.", "-", "1e3", "12345678901234"]),
        (#"^[0-9]{1,12}$"#, ["0001234567", "1", "123456789012"], ["", "1234567890123", " 1", "12a"]),
        (#"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"#, ["ACC-1", "a", "x/y:z.w_v"], ["", "-a", "a b", "ä"]),
        (#"^[A-HJ-NP-Z0-9]{10}[0-9]?$"#, ["4103000180", "41030001809", "ABCDEFGHJK"], ["410300018", "I103000180", "41030001809X", "410300018090"]),
        (#"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, ["a@b.c", "first.last@example.com.au", "ü@ö.ä"], ["a@b", "a b@c.d", "@b.c", "a@b.", "a\u{00A0}b@c.d"]),
        (#"^\+?[0-9][0-9 ()-]{5,19}$"#, ["+61 3 9999 0000", "03 9999 0000", "0399990000"], ["+6", "+61 3 9999 0000 1234567", "phone"]),
        (#"^1\.(0|[1-9][0-9]{0,3})$"#, ["1.0", "1.12", "1.9999"], ["1.01", "1", "2.0", "1.10000"]),
        (#"^[A-Za-z0-9+/]*={0,2}$"#, ["", "QUJD", "QQ==", "a+/b="], ["QQ===", "a b", "=a"]),
        (#"^[0-9]{4}-[0-9]{2}$"#, ["2026-11"], ["2026-1", "20261-11"]),
        (#"ab+c"#, ["abc", "xxabbbcxx"], ["ac", "abx"]),
        (#"^(?:x|yz)*$"#, ["", "xyzx", "yzyz"], ["y", "xzy"]),
        (#"colou?r$"#, ["my colour", "color"], ["colors"]),
        (#"^\d{2,}\w\s?$"#, ["12a", "123_ ", "99Z"], ["1a", "12", "12-"]),
        (#"^.{3}$"#, ["abc", "ä€😀"], ["ab", "a\nb"]),
    ]

    @Test("the schemas' patterns and a few other shapes accept and refuse what they should")
    func knownCases() throws {
        for (pattern, accepted, refused) in Self.cases {
            for text in accepted { #expect(try accepts(pattern, text), "\(pattern) should accept \(text.debugDescription)") }
            for text in refused { #expect(try !accepts(pattern, text), "\(pattern) should refuse \(text.debugDescription)") }
        }
    }

    @Test("a $ anchor does not match before a final line feed (ECMA-262, not ICU)")
    func dollarIsTheEnd() throws {
        #expect(try !accepts(#"^[0-9]{1,12}$"#, "0001234567\n"))
        #expect(try !accepts(#"^[A-Za-z][A-Za-z0-9_]*$"#, "Account\n"))
    }

    @Test("a pattern outside the compiled subset is still checked (lookahead, back reference)")
    func otherPatternsStillChecked() throws {
        #expect(try accepts(#"^(?=.*\d)[a-z\d]+$"#, "abc1"))
        #expect(try !accepts(#"^(?=.*\d)[a-z\d]+$"#, "abc"))
        #expect(try accepts(#"^(a)\1$"#, "aa"))
        #expect(try !accepts(#"^(a)\1$"#, "ab"))
    }
}
