import Crypto
import Foundation
import UserInput

/// A patch applied to a component's source before it was built (the kernel's `patches`, when a board has them).
public struct SBOMPatch: Sendable, Equatable {
    /// The file name, as legal-info stores it.
    public var name: String
    public var sha256: String
    public var sha1: String

    public init(name: String, sha256: String, sha1: String) {
        self.name = name
        self.sha256 = sha256
        self.sha1 = sha1
    }
}

/// One piece of software that ends up on the board, or that built it.
public struct SBOMComponent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case operatingSystem, application, firmware, library, buildTool
    }

    /// Short, stable, unique within the document: `linux`, `busybox`, `deb-libc6-dev-arm64-cross`.
    public var id: String
    public var name: String
    public var version: String
    public var kind: Kind
    /// Who supplied it to this build: `Debian` for Debian packages, the upstream for a tarball.
    public var supplier: String?
    /// Who wrote it (upstream).
    public var originator: String?
    public var homepage: String?
    /// Where the source can be had: a URL, or nil (NOASSERTION) for Debian's archive, named by `debianSource`.
    public var downloadLocation: String?
    /// The Debian source package and version it was built from (`linux 6.1.192-3`).
    public var debianSource: String?
    /// The archive the source came from (file name) and its sha256.
    public var sourceArchive: String?
    public var sourceSHA256: String?
    public var purl: String?
    public var cpe: String?
    public var declaredLicense: LicenseExpression?
    public var concludedLicense: LicenseExpression?
    /// How the concluded licence was found (which files, which list), for the documents' comments.
    public var licenseComment: String?
    /// Identifiers found in the files that went into the build (evidence).
    public var fileLicenseIdentifiers: [String] = []
    /// Patches applied to the source, in order. The hook for `kernel.patches`: the SBOM and legal-info take them from here.
    public var patches: [SBOMPatch] = []
    public var summary: String?

    public init(id: String, name: String, version: String, kind: Kind) {
        self.id = id
        self.name = name
        self.version = version
        self.kind = kind
    }
}

/// A file of `out/<board>/`.
public struct SBOMArtifact: Sendable, Equatable {
    public var path: String
    public var size: Int
    public var sha256: String
    public var sha1: String

    public init(path: String, size: Int, sha256: String, sha1: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.sha1 = sha1
    }

    public var id: String { "file-" + path }
}

public enum SBOMRelationshipType: String, Sendable, CaseIterable {
    /// The artifact was made from the component's source.
    case generatedFrom = "GENERATED_FROM"
    /// The artifact (initramfs, disk image, FIT) holds the component or the other artifact.
    case contains = "CONTAINS"
    /// The component (compiler, linker, bspgen) built the artifact or component.
    case buildToolOf = "BUILD_TOOL_OF"
    /// The component's binary is statically linked with the library.
    case staticLink = "STATIC_LINK"
    /// The artifact was taken out of the package (a firmware file out of its `.deb`).
    case expandedFromArchive = "EXPANDED_FROM_ARCHIVE"
    /// The patch file was applied to the component.
    case patchApplied = "PATCH_APPLIED"
}

/// `from TYPE to`, by the ids of components and artifacts.
public struct SBOMRelationship: Sendable, Hashable, Comparable {
    public var from: String
    public var type: SBOMRelationshipType
    public var to: String

    public init(_ from: String, _ type: SBOMRelationshipType, _ to: String) {
        self.from = from
        self.type = type
        self.to = to
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.from, lhs.type.rawValue, lhs.to) < (rhs.from, rhs.type.rawValue, rhs.to) }
}

/// Everything both documents say, in one value; the writers only change the vocabulary.
public struct SBOMDocument: Sendable, Equatable {
    public var board: String
    public var description: String
    /// The BSP as a whole: the documents' subject.
    public var bsp: SBOMComponent
    public var components: [SBOMComponent]
    public var artifacts: [SBOMArtifact]
    public var relationships: [SBOMRelationship]
    /// SOURCE_DATE_EPOCH: the documents' creation time.
    public var created: Int64
    public var toolName: String
    public var toolVersion: String
    /// The text of each `LicenseRef-` licence the components name (SPDX wants it in the document).
    public var licenseTexts: [String: String] = [:]

    public init(board: String, description: String, bsp: SBOMComponent, components: [SBOMComponent], artifacts: [SBOMArtifact],
                relationships: [SBOMRelationship], created: Int64, toolName: String, toolVersion: String) {
        self.board = board
        self.description = description
        self.bsp = bsp
        self.components = components.sorted { $0.id < $1.id }
        self.artifacts = artifacts.sorted { $0.path < $1.path }
        self.relationships = Array(Set(relationships)).sorted()
        self.created = created
        self.toolName = toolName
        self.toolVersion = toolVersion
    }

    /// ISO 8601 in UTC, as both formats want it.
    public var createdText: String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(created)))
    }

    /// A digest of everything the documents say except their own identifiers: the same content gives the same
    /// namespace and serial number, other content another.
    public var contentDigest: String {
        var lines = [board, description, String(created), toolName, toolVersion, Self.describe(bsp)]
        lines += components.map(Self.describe)
        lines += artifacts.map { "\($0.path) \($0.size) \($0.sha256)" }
        lines += relationships.map { "\($0.from) \($0.type.rawValue) \($0.to)" }
        lines += licenseTexts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return Hex.lowercase(SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)))
    }

    static func describe(_ component: SBOMComponent) -> String {
        [component.id, component.name, component.version, component.kind.rawValue, component.supplier ?? "", component.originator ?? "",
         component.homepage ?? "", component.downloadLocation ?? "", component.debianSource ?? "", component.sourceArchive ?? "",
         component.sourceSHA256 ?? "", component.purl ?? "", component.cpe ?? "", component.declaredLicense?.description ?? "",
         component.concludedLicense?.description ?? "", component.licenseComment ?? "", component.fileLicenseIdentifiers.joined(separator: ","),
         component.patches.map { "\($0.name)=\($0.sha256)" }.joined(separator: ","), component.summary ?? ""].joined(separator: "|")
    }
}

/// Name-based UUIDs (RFC 4122 version 5, SHA-1): the same name gives the same UUID on any host.
public enum NameUUID {
    /// RFC 4122's URL namespace.
    static let urlNamespace: [UInt8] = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8]

    public static func v5(_ name: String) -> String {
        var hasher = Insecure.SHA1()
        hasher.update(data: Data(urlNamespace))
        hasher.update(data: Data(name.utf8))
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.lowercase(bytes)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}

/// Package URLs (github.com/package-url/purl-spec): `pkg:deb/debian/NAME@VERSION?arch=ARCH`, `pkg:generic/NAME@VERSION`.
public enum PackageURL {
    public static func debian(_ name: String, version: String, architecture: String?) -> String {
        "pkg:deb/debian/\(encode(name.lowercased()))@\(encode(version))" + (architecture.map { "?arch=\(encode($0))" } ?? "")
    }

    public static func generic(_ name: String, version: String, downloadURL: String? = nil, sha256: String? = nil) -> String {
        var qualifiers: [String] = []
        if let sha256 { qualifiers.append("checksum=sha256:\(sha256)") }
        if let downloadURL { qualifiers.append("download_url=\(encode(downloadURL))") }
        return "pkg:generic/\(encode(name))@\(encode(version))" + (qualifiers.isEmpty ? "" : "?" + qualifiers.joined(separator: "&"))
    }

    /// Percent-encodes everything but unreserved characters (a version's `:` and `+` included).
    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.unicodeScalars.map { scalar in
            scalar.isASCII && allowed.contains(scalar) ? String(scalar) : String(scalar).utf8.map { String(format: "%%%02X", $0) }.joined()
        }.joined()
    }
}

/// Versions as upstream names them, from Debian's (`1:1.35.0-4+deb12u1` → `1.35.0`, `2023.01+dfsg-2` → `2023.01`,
/// `2.36-8cross1` → `2.36`) or from an archive's name (`linux-6.12.3` → `6.12.3`): what a CVE feed's CPE matches.
public enum UpstreamVersion {
    public static func fromDebian(_ version: String) -> String {
        var text = Substring(version)
        if let colon = text.firstIndex(of: ":") { text = text[text.index(after: colon)...] }
        if let dash = text.lastIndex(of: "-") { text = text[..<dash] }
        for marker in ["+dfsg", "+ds", "~dfsg", "~ds", "+repack", "+really"] {
            if let range = text.range(of: marker) { text = text[..<range.lowerBound] }
        }
        return String(text)
    }

    public static func fromArchiveName(_ stem: String) -> String {
        let parts = stem.split(separator: "-")
        guard let index = parts.firstIndex(where: { $0.first?.isNumber == true }) else { return stem }
        return parts[index...].joined(separator: "-")
    }
}

/// CPE 2.3 names (NIST IR 7695): `cpe:2.3:a:VENDOR:PRODUCT:VERSION:*:*:*:*:*:*:*`, with the version's special
/// characters escaped.
public enum CPE {
    public static func name(prefix: String, version: String) -> String {
        let escaped = version.map { character -> String in
            character.isLetter || character.isNumber || character == "." || character == "_" || character == "-" ? String(character) : "\\" + String(character)
        }.joined()
        return "\(prefix):\(escaped):*:*:*:*:*:*:*"
    }
}
