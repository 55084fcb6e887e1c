import Foundation
import Testing
@testable import DeviceTree

/// splitmix64: tiny, seedable, and the same sequence everywhere, so a failing iteration can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }
}

enum Mutator {
    /// Words that mean something to a parser: tags (1-4, 9), sizes at and past the end, signs.
    static let interestingWords: [UInt32] = [0, 1, 2, 3, 4, 9, 0x10, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0, 0xffff_ffff]

    static func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let offset = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            bytes[offset] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1:
            bytes[offset] = UInt8.random(in: 0...255, using: &random)
        case 2, 3:
            // Word-aligned, like every field and token in a dtb.
            let word = offset & ~3
            guard word + 4 <= bytes.count else { return }
            let choices = interestingWords + [UInt32(bytes.count), UInt32(bytes.count - word), UInt32.random(in: 0...UInt32.max, using: &random)]
            bytes.replaceSubrange(word..<word + 4, with: choices[Int.random(in: 0..<choices.count, using: &random)].bigEndianBytes)
        case 4:
            bytes.removeSubrange(offset...)
        case 5:
            let end = min(bytes.count, offset + Int.random(in: 1...16, using: &random))
            bytes.insert(contentsOf: bytes[offset..<end], at: Int.random(in: 0...bytes.count, using: &random))
        default:
            bytes.removeSubrange(offset..<min(bytes.count, offset + Int.random(in: 1...16, using: &random)))
        }
    }
}

/// Opens `input` and, when it opens, does to it what bspgen does with trees: read, render, diff, edit,
/// pack and reopen. Returns the error opening gave, or nil when it opened.
@discardableResult
func exercise(_ input: [UInt8], against original: DeviceTreeBlob, sourceLocation: SourceLocation = #_sourceLocation) -> DeviceTreeError? {
    let tree: DeviceTreeBlob
    do {
        tree = try DeviceTreeBlob(bytes: input)
    } catch let error as DeviceTreeError {
        #expect(!error.description.isEmpty, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record(error, "not a DeviceTreeError", sourceLocation: sourceLocation)
        return nil
    }
    // A tree that passed validation must be fully usable: nothing below may throw. The input goes into
    // the message, ready to become a corpus entry.
    #expect(throws: Never.self, "input: \(Data(input).base64EncodedString())", sourceLocation: sourceLocation) {
        _ = try tree.dts()
        _ = try DeviceTreeDiff(from: original, to: tree).description
        var edited = tree
        try edited.setChosen(bootargs: "console=ttyS0", stdoutPath: nil)
        try edited.addNode(at: "/fuzz/deeper", createParents: true)
        try edited.deleteNode(at: "/fuzz")
        let reopened = try DeviceTreeBlob(bytes: edited.bytes)
        _ = try reopened.dts()
        _ = try DeviceTreeDiff(from: tree, to: reopened).description
    }
    return nil
}

@Test(arguments: zip([Fixtures.tiny, Fixtures.board, Fixtures.board64], [0x5eed_0001, 0x5eed_0002, 0x5eed_0003] as [UInt64]))
func randomMutationsNeverCrash(source: String, seed: UInt64) throws {
    let original = try Scratch.with { try $0.blob(compiling: source, symbols: true) }
    let valid = original.bytes
    var random = SplitMix64(state: seed)
    var opened = 0, failed = 0
    for _ in 0..<2000 {
        var input = valid
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            Mutator.mutate(&input, using: &random)
        }
        if let error = exercise(input, against: original) {
            #expect(error.operation == "open" && error.code != nil, "\(error)")
            failed += 1
        } else {
            opened += 1
        }
    }
    // Both paths were exercised, not just the header checks.
    #expect(opened > 50 && failed > 50, "opened \(opened), failed \(failed)")
}

@Test(arguments: FuzzCorpus.entries)
func corpusEntryGivesItsKnownOutcome(_ entry: FuzzCorpus.Entry) throws {
    let original = try Scratch.with { try $0.blob(compiling: Fixtures.tiny) }
    let input = try #require(entry.bytes)
    let error = exercise(input, against: original)
    if let expected = entry.expectedError {
        #expect(error?.message.contains(expected) == true, "\(error?.description ?? "opened")")
    } else {
        #expect(error == nil, "\(error?.description ?? "")")
    }
}
