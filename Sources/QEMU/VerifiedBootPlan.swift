import Foundation

/// Console lines a boot must show, in order: each line is given by the texts it must all contain.
public struct ConsoleExpectation: Sendable, Equatable, Codable {
    public var name: String
    public var lines: [[String]]

    public init(name: String, lines: [[String]]) {
        self.name = name
        self.lines = lines
    }

    /// How a report names what was looked for.
    public var summary: String { lines.map { $0.joined(separator: " … ") }.joined(separator: " / ") }

    /// Follows the console: `matched` counts the lines found so far, in order.
    public func advance(_ matched: Int, with line: String) -> Int {
        guard matched < lines.count else { return matched }
        var position = line.startIndex
        for part in lines[matched] {
            guard let found = line.range(of: part, range: position..<line.endIndex) else { return matched }
            position = found.upperBound
        }
        return matched + 1
    }
}

/// Verified boot on one boot path: the U-Boot bspgen built holds the board's public key and must boot the signed
/// FIT only. The good boot must show the signature checked; each tampered FIT, put on a copy of the disk in place
/// of the board's, must be refused for its own reason, with U-Boot back at its prompt and no kernel started.
public struct VerifiedBootPlan: Sendable, Equatable, Codable {
    /// How a FIT is tampered with for a refusal.
    public enum Tampering: String, Sendable, Equatable, Codable {
        /// One byte of the kernel's data changed, nothing else.
        case kernelByteChanged = "kernel-byte-changed"
        /// The same image signed with another key of the same name.
        case otherKey = "other-key"
        /// The same image without any signature.
        case unsigned
    }

    public struct Refusal: Sendable, Equatable, Codable {
        public var tampering: Tampering
        /// U-Boot's words for refusing it.
        public var expectation: ConsoleExpectation
    }

    /// The FIT artifact, and where the disk holds it: the disk artifact, its partition (0-based) and the path there.
    public var fit: String
    public var disk: String
    public var partition: Int
    public var pathOnPartition: String
    public var algorithm: String
    public var keyName: String
    /// `conf` or `image`.
    public var required: String
    /// What the good boot's console must show: U-Boot checked the signature with the key.
    public var verified: ConsoleExpectation
    /// Lines by which U-Boot refuses an image: the good boot fails at once on them.
    public var refusalLines: [String]
    public var refusals: [Refusal]

    public init(fit: String, disk: String, partition: Int, pathOnPartition: String, algorithm: String, keyName: String, required: String,
                kernelNode: String) {
        self.fit = fit
        self.disk = disk
        self.partition = partition
        self.pathOnPartition = pathOnPartition
        self.algorithm = algorithm
        self.keyName = keyName
        self.required = required
        verified = ConsoleExpectation(name: "U-Boot verified the signature",
                                      lines: [["Verifying Hash Integrity ...", "\(algorithm):\(keyName)+", "OK"]])
        refusalLines = ["Failed to verify required signature", "Bad hash value for", "Bad Data Hash"]
        refusals = Self.refusals(algorithm: algorithm, keyName: keyName, required: required, kernelNode: kernelNode)
    }

    /// U-Boot's messages (boot/image-fit.c, boot/image-fit-sig.c of 2023.01) for each refusal. With `required =
    /// "conf"` the configuration's signature covers the images' hashes, so a changed kernel passes the signature and
    /// fails its hash; with `required = "image"` each image's signature covers its data, so it fails the signature.
    /// The last line of each is also what `fit_check_sign` (the same code on the host) says.
    public static func refusals(algorithm: String, keyName: String, required: String, kernelNode: String) -> [Refusal] {
        let good = "\(algorithm):\(keyName)+"
        let bad = "\(algorithm):\(keyName)-"
        let missing = "Failed to verify required signature 'key-\(keyName)'"
        let kernel = "'\(kernelNode)' image node"
        if required == "image" {
            return [
                Refusal(tampering: .kernelByteChanged, expectation: ConsoleExpectation(
                    name: "kernel data changed by one byte: its signature fails", lines: [["Verifying Hash Integrity ...", bad, missing], [kernel]])),
                Refusal(tampering: .otherKey, expectation: ConsoleExpectation(
                    name: "signed with another key: the required signature fails", lines: [["Verifying Hash Integrity ...", bad, missing], [kernel]])),
                Refusal(tampering: .unsigned, expectation: ConsoleExpectation(
                    name: "unsigned: the required signature is missing", lines: [["Verifying Hash Integrity ... " + missing], [kernel]])),
            ]
        }
        return [
            Refusal(tampering: .kernelByteChanged, expectation: ConsoleExpectation(
                name: "kernel data changed by one byte: bad hash", lines: [["Verifying Hash Integrity ...", good], ["Bad hash value for", kernel]])),
            Refusal(tampering: .otherKey, expectation: ConsoleExpectation(
                name: "signed with another key: the required signature fails", lines: [["Verifying Hash Integrity ...", bad], [missing]])),
            Refusal(tampering: .unsigned, expectation: ConsoleExpectation(
                name: "unsigned: the required signature is missing", lines: [["No 'signature' subnode found"], [missing]])),
        ]
    }
}
