import BillsyncContracts
import BillsyncJSON
import Foundation
import Testing

@Suite("The validator checks what the schema says and refuses what it cannot check")
struct SchemaValidatorTests {
    func compile(_ schema: String) throws -> JSONSchema {
        var compiler = SchemaCompiler()
        let id = try compiler.add(try JSONParser.parse(schema), name: "test")
        return try #require(try compiler.compileAll()[id])
    }

    func violations(_ schema: String, _ document: String) throws -> [SchemaViolation] {
        try compile(schema).validate(try JSONParser.parse(document))
    }

    @Test("a schema with an unsupported keyword fails at compile time, naming the keyword and where it is")
    func unsupportedKeyword() throws {
        let schema = #"{"$id": "https://x.test/a", "properties": {"a": {"type": "string", "contentEncoding": "base64"}}}"#
        do {
            _ = try compile(schema)
            Issue.record("compiled a schema with an unsupported keyword")
        } catch let error as SchemaCompilationError {
            #expect(error.location.description == "/properties/a/contentEncoding")
            #expect(error.reason.contains("contentEncoding"))
        }
    }

    @Test("an unknown format, a dangling $ref and another draft fail at compile time")
    func otherCompileFailures() throws {
        #expect(throws: SchemaCompilationError.self) { try compile(#"{"$id": "https://x.test/a", "format": "email"}"#) }
        #expect(throws: SchemaCompilationError.self) { try compile(#"{"$id": "https://x.test/a", "$ref": "other.json#/x"}"#) }
        #expect(throws: SchemaCompilationError.self) {
            try compile(#"{"$id": "https://x.test/a", "$schema": "http://json-schema.org/draft-07/schema#"}"#)
        }
    }

    @Test("a failure names the JSON pointer of the field and the rule it broke")
    func pointerAndRule() throws {
        let schema = #"{"$id": "https://x.test/a", "type": "object", "additionalProperties": false, "required": ["id"],"#
            + #""properties": {"id": {"type": "string"}, "lines": {"type": "array", "items": {"type": "object","#
            + #""properties": {"amount": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}}}}}}"#
        let found = try violations(schema, #"{"lines": [{"amount": "1.00"}, {"amount": "1.005"}], "extra": 1}"#)
        #expect(found.map(\.description) == [
            "/extra: unknown field [additionalProperties]",
            "/id: required field is missing [required]",
            #"/lines/1/amount: "1.005" does not match ^[0-9]+\.[0-9]{2}$ [pattern]"#,
        ])
    }

    @Test("lengths count Unicode code points, and 1.0 is an integer while true is not")
    func typesAndLengths() throws {
        let schema = #"{"$id": "https://x.test/a", "properties": {"s": {"maxLength": 2}, "n": {"type": "integer"}}}"#
        #expect(try violations(schema, #"{"s": "é☕", "n": 1.0}"#).isEmpty)
        #expect(try violations(schema, #"{"s": "e\u0301☕"}"#).map(\.keyword) == ["maxLength"])
        #expect(try violations(schema, #"{"n": true}"#).map(\.keyword) == ["type"])
        #expect(try violations(schema, #"{"n": 1.5}"#).map(\.keyword) == ["type"])
    }

    @Test("ranges compare exactly, beyond what a Double can hold")
    func exactRanges() throws {
        let schema = #"{"$id": "https://x.test/a", "maximum": 9007199254740993}"#
        #expect(try violations(schema, "9007199254740993").isEmpty)
        #expect(try violations(schema, "9007199254740994").map(\.keyword) == ["maximum"])
    }

    @Test("dates and timestamps are checked against the calendar and RFC 3339")
    func formats() throws {
        let schema = #"{"$id": "https://x.test/a", "properties": {"d": {"format": "date"}, "t": {"format": "date-time"}}}"#
        for (document, valid) in [
            (#"{"d": "2024-02-29", "t": "2024-02-29T23:59:59.999+10:30"}"#, true),
            (#"{"d": "2023-02-29"}"#, false), (#"{"d": "29/02/2024"}"#, false), (#"{"d": "2024-2-9"}"#, false),
            (#"{"t": "2024-02-29T23:59:59"}"#, false), (#"{"t": "2024-02-29 23:59:59Z"}"#, false),
            (#"{"t": "2024-02-29T24:00:00Z"}"#, false), (#"{"t": "2024-02-29t10:00:00z"}"#, true),
        ] {
            #expect(try violations(schema, document).isEmpty == valid, "\(document)")
        }
    }

    @Test("every shipped schema compiles, and only uses supported keywords")
    func shippedSchemasCompile() throws {
        let contracts = try MessageContracts(directory: Fixtures.schemas)
        #expect(contracts.directory == Fixtures.schemas)
    }
}

@Suite("The JSON reader is strict and says where input went wrong")
struct JSONParserTests {
    @Test("invalid UTF-8 is an error at its byte, never replaced")
    func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"a": "x"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError(offset: 8, reason: "invalid UTF-8 byte 0xff")) { try JSONParser.parse(bytes) }
    }

    @Test("NaN, trailing commas, a BOM, a lone surrogate and a second document are refused")
    func refusals() {
        for text in [#"{"a": NaN}"#, #"[1,]"#, "\u{FEFF}{}", #"["\ud800"]"#, "{} {}", "", "01", "1.", "-"] {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONParser.parse(text) }
        }
    }

    @Test("numbers keep their exact text, and escapes decode to the right characters")
    func exactness() throws {
        let value = try JSONParser.parse(#"{"amount": 1523.40, "name": "caf\u00e9 \ud83d\ude00", "a": 1, "a": 2}"#)
        guard case let .number(amount) = value["amount"] else { Issue.record("not a number"); return }
        #expect(amount.text == "1523.40")
        #expect(value["name"] == .string("café 😀"))
        #expect(value["a"] == .number(JSONNumber(text: "2")!))
    }

    @Test("an object keeps its members' order, and a repeated name its first place and last value, in order or not")
    func memberOrderAndRepeatedNames() throws {
        func keys(_ value: JSONValue?) -> [String]? {
            guard case let .object(object)? = value else { return nil }
            return object.keys
        }
        let inOrder = try JSONParser.parse(#"{"a": 1, "b": {"c": true, "d": null}, "e": "x"}"#)
        #expect(keys(inOrder) == ["a", "b", "e"])
        #expect(keys(inOrder["b"]) == ["c", "d"])
        let outOfOrder = try JSONParser.parse(#"{"b": 1, "a": 2, "b": 3, "c": 4}"#)
        #expect(keys(outOfOrder) == ["b", "a", "c"])
        #expect(outOfOrder["b"] == .number(JSONNumber(text: "3")!))
        let repeatedLast = try JSONParser.parse(#"{"a": 1, "b": 2, "b": 5}"#)
        #expect(keys(repeatedLast) == ["a", "b"])
        #expect(repeatedLast["b"] == .number(JSONNumber(text: "5")!))
    }

    @Test("nesting deeper than the limit is refused rather than exhausting the stack")
    func depthLimit() {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth + 1) + String(repeating: "]", count: JSONParser.maximumDepth + 1)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test("a string with a quote, backslash, control or non-ASCII character at any place of an 8-byte word is written escaped and read back the same")
    func stringsRoundTripWhereverTheSpecialByteFalls() throws {
        // The reader and the writer skip plain runs eight bytes at a time: each special byte is
        // tried at each of sixteen places, alone and next to another.
        for special in ["\"", "\\", "\n", "\u{01}", "\u{1F}", "é", "😀", "\u{7F}"] {
            for place in 0..<16 {
                for second in ["", "\"", "ü"] {
                    let text = String(repeating: "a", count: place) + special + second + String(repeating: "b", count: 16 - place)
                    var written: [UInt8] = []
                    JSONValue.writeString(text, into: &written)
                    #expect(try JSONParser.parse(written) == .string(text), "\(text.debugDescription)")
                    // The written literal holds no raw control byte, quote or backslash outside escapes.
                    let raw = written.dropFirst().dropLast()
                    #expect(!raw.contains { $0 < 0x20 }, "\(text.debugDescription)")
                }
            }
        }
    }
}
