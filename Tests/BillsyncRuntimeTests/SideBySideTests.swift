import BillsyncRuntime
import Testing

@Suite("A chunk's CPU work cut into slices comes back whole and in order")
struct SideBySideTests {
    @Test("every element is transformed once and the answers keep the inputs' order, whichever slice ends first")
    func orderKept() async {
        let inputs = Array(0..<1_000)
        let answers = await inputs.mapSideBySide(parts: 4) { slice in
            // Later slices do less work, so they tend to finish first.
            slice.map { value in (0..<(1_000 - value)).reduce(value) { total, _ in total &+ 0 } * 2 }
        }
        #expect(answers == inputs.map { $0 * 2 })
    }

    @Test("with one part, or fewer elements than a slice, the work stays on the caller's task as one slice")
    func oneSlice() async {
        let slices = await Array(0..<10).mapSideBySide(parts: 4) { slice in [slice.count] }
        #expect(slices == [10])
        let one = await Array(0..<100).mapSideBySide(parts: 1) { slice in [slice.count] }
        #expect(one == [100])
    }
}
