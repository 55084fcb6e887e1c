import BoardModel
import Foundation

/// What bspgen states about the upstream projects it puts on boards, from `components.yaml` beside `bspgen.yaml`:
/// who writes them, where they live, their CPE (for CVE feeds) and the licence their authors declare. The
/// concluded licences come from the files themselves; this is data, not Swift, so a new component is a few lines.
public struct ComponentFacts: Codable, Sendable, Equatable {
    /// Who supplies the BSP as a whole: the SBOMs' top component and author.
    public var supplier: String
    public var components: [Upstream]

    public struct Upstream: Codable, Sendable, Equatable {
        /// The project's name: `linux`, `busybox`, `u-boot` name the board's kernel, BusyBox and boot loader.
        public var name: String
        /// Debian binary or source package names that ship it (`*` matches any run of characters).
        public var debianPackages: [String]?
        /// Who writes it.
        public var originator: String?
        public var homepage: String?
        /// CPE 2.3 up to the product: `cpe:2.3:a:linux:linux_kernel`; the version is added.
        public var cpe: String?
        /// The licence the project declares for itself, an SPDX expression; nil: NOASSERTION.
        public var license: String?
        /// The licence of its files that carry no `SPDX-License-Identifier` (the kernel's license-rules.rst:
        /// GPL-2.0-only); nil: such files add nothing to the concluded licence.
        public var fileDefaultLicense: String?
        /// Licence texts in its source tree, for legal-info: files or folders relative to the tree's root.
        public var licenseFiles: [String]?

        enum CodingKeys: String, CodingKey {
            case name, originator, homepage, cpe, license
            case debianPackages = "debian_packages"
            case fileDefaultLicense = "file_default_license"
            case licenseFiles = "license_files"
        }

        public init(name: String, license: String?) {
            self.name = name
            self.license = license
        }

        public var declaredLicense: LicenseExpression? { license.flatMap { try? LicenseExpression.parse($0).normalized } }
        public var defaultLicense: LicenseExpression? { fileDefaultLicense.flatMap { try? LicenseExpression.parse($0).normalized } }

        public func matches(debianPackage name: String) -> Bool {
            (debianPackages ?? []).contains { Self.glob($0, matches: name) }
        }

        static func glob(_ pattern: String, matches name: String) -> Bool {
            let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
            guard parts.count > 1 else { return pattern == name }
            guard name.hasPrefix(parts[0]), name.hasSuffix(parts[parts.count - 1]),
                  name.count >= parts[0].count + parts[parts.count - 1].count else { return false }
            var rest = Substring(name.dropFirst(parts[0].count).dropLast(parts[parts.count - 1].count))
            for part in parts.dropFirst().dropLast() where !part.isEmpty {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
            return true
        }
    }

    public init(supplier: String, components: [Upstream]) {
        self.supplier = supplier
        self.components = components
    }

    public func upstream(named name: String) -> Upstream? { components.first { $0.name == name } }
    public func upstream(debianPackage name: String) -> Upstream? { components.first { $0.matches(debianPackage: name) } }

    /// The file name beside `bspgen.yaml`.
    public static let fileName = "components.yaml"

    /// Reads and checks the file: every licence must read as an SPDX expression, names must be unique. Every
    /// problem is reported at once, with its line.
    public static func load(_ file: URL) throws(DiagnosticList) -> ComponentFacts {
        let text: String
        do {
            text = try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw DiagnosticList([Diagnostic(SourceLocation(file: file.path), "cannot read the file as UTF-8 text: \(error.localizedDescription)",
                                             hint: "bspgen's repository has one beside bspgen.yaml; restore it from there")])
        }
        let (facts, locations) = try YAMLTreeDecoder.decode(ComponentFacts.self, from: text, file: file.path)
        var problems: [Diagnostic] = []
        var names = Set<String>()
        for (index, upstream) in facts.components.enumerated() {
            let field = "components[\(index)]"
            if !names.insert(upstream.name).inserted {
                problems.append(Diagnostic(locations.location(of: "\(field).name"), field: "\(field).name", "'\(upstream.name)' is listed twice",
                                           hint: "keep one entry per project"))
            }
            for (key, value) in [("license", upstream.license), ("file_default_license", upstream.fileDefaultLicense)] {
                guard let value else { continue }
                do {
                    _ = try LicenseExpression.parse(value)
                } catch {
                    problems.append(Diagnostic(locations.location(of: "\(field).\(key)"), field: "\(field).\(key)",
                                               "not an SPDX licence expression: \(error.message)",
                                               hint: "write identifiers of spdx.org/licenses joined by AND, OR, WITH, e.g. 'GPL-2.0-only WITH Linux-syscall-note'"))
                }
            }
            if let cpe = upstream.cpe, !(cpe.hasPrefix("cpe:2.3:") && cpe.split(separator: ":").count == 5) {
                problems.append(Diagnostic(locations.location(of: "\(field).cpe"), field: "\(field).cpe",
                                           "expected a CPE 2.3 prefix up to the product, like 'cpe:2.3:a:VENDOR:PRODUCT'",
                                           hint: "leave the version out: bspgen adds the one it built"))
            }
        }
        if !problems.isEmpty { throw DiagnosticList(problems) }
        return facts
    }
}
