/// Where a source tree comes from. Exactly one kind is given; every kind is verified before it is unpacked.
public enum SourceSpec: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// A Debian binary package that ships the source as a tarball under `/usr/src` (e.g. `linux-source-6.1`).
    case debianPackage(String)
    /// A Debian source package fetched with `apt-get source` (e.g. `busybox`).
    case debianSource(String)
    /// A local tarball; checked against `sha256` when one is given.
    case tarball(path: String, sha256: String?)
    /// A tarball downloaded from a URL; `sha256` is required.
    case url(String, sha256: String)
    /// A local source directory used as it is (never modified).
    case directory(String)

    public var description: String {
        switch self {
        case .debianPackage(let name): "Debian package \(name)"
        case .debianSource(let name): "Debian source package \(name)"
        case .tarball(let path, _): "tarball \(path)"
        case .url(let url, _): url
        case .directory(let path): "directory \(path)"
        }
    }
}

extension SourceSpec: Decodable {
    private enum CodingKeys: String, CodingKey, CaseIterable {
        case debianPackage = "debian_package", debianSource = "debian_source", tarball, url, directory, sha256
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kinds: [CodingKeys] = [.debianPackage, .debianSource, .tarball, .url, .directory]
        var given: [(CodingKeys, String)] = []
        for kind in kinds {
            if let value = try container.decodeIfPresent(String.self, forKey: kind) { given.append((kind, value)) }
        }
        let sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)?.lowercased()
        let kindList = kinds.map(\.rawValue).joined(separator: ", ")
        guard given.count == 1, let (kind, value) = given.first else {
            let found = given.isEmpty ? "none" : given.map(\.0.rawValue).joined(separator: " and ")
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "a source needs exactly one of \(kindList); found \(found)"))
        }
        if let sha256, sha256.count != 64 || !sha256.allSatisfy(\.isHexDigit) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.sha256],
                debugDescription: "sha256 must be 64 hexadecimal digits, as printed by sha256sum"))
        }
        if sha256 != nil, kind != .tarball, kind != .url {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [CodingKeys.sha256],
                debugDescription: "sha256 applies to tarball and url sources only (Debian packages are verified by apt)"))
        }
        switch kind {
        case .debianPackage: self = .debianPackage(value)
        case .debianSource: self = .debianSource(value)
        case .tarball: self = .tarball(path: value, sha256: sha256)
        case .directory: self = .directory(value)
        default:
            guard let sha256 else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                    debugDescription: "a url source needs a sha256 so that the download can be verified; add 'sha256: <64 hex digits>'"))
            }
            self = .url(value, sha256: sha256)
        }
    }
}

extension SourceSpec: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .debianPackage(let name): try container.encode(name, forKey: .debianPackage)
        case .debianSource(let name): try container.encode(name, forKey: .debianSource)
        case .tarball(let path, let sha256):
            try container.encode(path, forKey: .tarball)
            try container.encodeIfPresent(sha256, forKey: .sha256)
        case .url(let url, let sha256):
            try container.encode(url, forKey: .url)
            try container.encode(sha256, forKey: .sha256)
        case .directory(let path): try container.encode(path, forKey: .directory)
        }
    }
}
