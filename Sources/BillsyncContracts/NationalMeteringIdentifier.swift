/// Australian National Metering Identifiers: ten characters and a checksum digit (AEMO's
/// algorithm: from the right, double every other character's ASCII code, add up the digits of
/// everything, and take what brings the sum to a multiple of ten).
public enum NationalMeteringIdentifier {
    /// The checksum digit of a ten-character NMI, or nil when the NMI is malformed.
    public static func checksum(of nmi: some StringProtocol) -> Int? {
        let characters = Array(nmi.utf8)
        guard characters.count == 10, characters.allSatisfy(isAllowed) else { return nil }
        var sum = 0
        var double = true
        for character in characters.reversed() {
            var value = Int(character)
            if double { value *= 2 }
            double.toggle()
            while value > 0 {
                sum += value % 10
                value /= 10
            }
        }
        return (10 - sum % 10) % 10
    }

    /// True for an eleven-character NMI whose last digit is its checksum.
    public static func isValid(_ nmi: some StringProtocol) -> Bool {
        guard nmi.utf8.count == 11, let last = nmi.last?.wholeNumberValue else { return false }
        return checksum(of: nmi.prefix(10)) == last
    }

    /// Ten allowed characters, optionally followed by a check digit (whether it is right is
    /// `isValid`'s question).
    public static func isWellFormed(_ nmi: some StringProtocol) -> Bool {
        let characters = Array(nmi.utf8)
        guard characters.count == 10 || characters.count == 11, characters.prefix(10).allSatisfy(isAllowed) else { return false }
        return characters.count == 10 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(characters[10])
    }

    /// Digits and capital letters except I and O, which are not used.
    static func isAllowed(_ character: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(character)
            || ((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(character) && character != UInt8(ascii: "I") && character != UInt8(ascii: "O"))
    }
}
