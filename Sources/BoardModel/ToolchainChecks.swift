import Foundation

/// Problems of a `toolchains/<name>.yaml` that decoding alone cannot see, located at the field; the architecture
/// it names must already be loaded.
struct ToolchainChecks {
    let toolchain: Toolchain
    let file: URL
    let locations: LocationMap
    let architectures: [String: Architecture]

    func problems() -> [Diagnostic] {
        var problems: [Diagnostic] = []
        func problem(_ field: String, _ message: String, hint: String? = nil) {
            problems.append(Diagnostic(locations.location(of: field), field: field, message, hint: hint))
        }
        if let misnamed = Diagnostic.nameDiffersFromFile(name: toolchain.name, file: file, locations: locations) { problems.append(misnamed) }
        problems += wordProblems()
        if crossCompileIsWord, !toolchain.crossCompile.hasSuffix("-") {
            problem("cross_compile", "expected a prefix ending in '-', like 'aarch64-linux-gnu-'", hint: "write '\(toolchain.crossCompile)-'")
        }
        if architectures[toolchain.arch] == nil {
            problem("arch", "unknown architecture \(DescriptionText.quoted(toolchain.arch)); known: \(architectures.keys.sorted().joined(separator: ", "))",
                    hint: Suggestion.didYouMean(toolchain.arch, among: architectures.keys) ?? (Words.isWord(toolchain.arch) ? "add arches/\(toolchain.arch).yaml" : "name one of the known architectures"))
        }
        if GCCVersion(toolchain.minGCCVersion) == nil {
            problem("min_gcc_version", "expected a version like '10.2', found \(DescriptionText.quoted(toolchain.minGCCVersion))")
        }
        for (index, requirement) in (toolchain.kernelRequires ?? []).enumerated() {
            let symbol = requirement.symbol
            if !requirement.option.hasPrefix("CONFIG_") || symbol.isEmpty
                || !symbol.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_").contains($0) }) {
                problem("kernel_requires[\(index)].option", "expected a kernel option such as 'CONFIG_VFP', found '\(requirement.option)'")
            }
            if !["y", "m", "n"].contains(requirement.resolvedValue) {
                problem("kernel_requires[\(index)].value", "expected y, m or n, found '\(requirement.resolvedValue)'")
            }
        }
        if toolchain.debianPackages.isEmpty { problem("debian_packages", "expected at least one Debian package that provides the compiler") }
        return problems
    }
}

/// A GCC version such as `12.2.0`, compared numerically.
public struct GCCVersion: Comparable, Sendable, CustomStringConvertible {
    public let components: [Int]

    public init?(_ text: String) {
        let parts = text.split(separator: ".").map { Int($0) }
        guard !parts.isEmpty, parts.count <= 3, !parts.contains(nil) else { return nil }
        components = parts.compactMap { $0 }
    }

    public static func < (lhs: GCCVersion, rhs: GCCVersion) -> Bool {
        for index in 0..<max(lhs.components.count, rhs.components.count) {
            let left = index < lhs.components.count ? lhs.components[index] : 0
            let right = index < rhs.components.count ? rhs.components[index] : 0
            if left != right { return left < right }
        }
        return false
    }

    public var description: String { components.map(String.init).joined(separator: ".") }
}
