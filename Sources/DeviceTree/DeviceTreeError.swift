import CFDT
import UserInput

/// A failed device-tree operation: what was attempted, on which node and property, and why.
/// When libfdt refused, `code` holds its error number and `message` starts with its own name for it
/// (`fdt_strerror`), followed by a plain-words reading of what that usually means.
public struct DeviceTreeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var operation: String
    public var nodePath: String?
    public var property: String?
    /// libfdt's error number (a positive `FDT_ERR_*`), or nil when the problem was found on the Swift side
    /// without a libfdt equivalent.
    public var code: Int32?
    public var message: String

    public init(operation: String, nodePath: String? = nil, property: String? = nil, code: Int32? = nil, message: String) {
        self.operation = operation
        self.nodePath = nodePath
        self.property = property
        self.code = code
        self.message = message
    }

    /// An error for a negative libfdt result, worded by libfdt itself; `detail` replaces the generic gloss.
    init(operation: String, nodePath: String? = nil, property: String? = nil, libfdtResult result: Int32, detail: String? = nil) {
        let code = result < 0 ? -result : result
        self.init(operation: operation, nodePath: nodePath, property: property, code: code,
                  message: "\(Self.name(of: code)): \(detail ?? Self.gloss(of: code))")
    }

    public var description: String {
        var text = operation
        if let nodePath { text += " \(UserText.escaped(nodePath))" }
        if let property { text += " property '\(UserText.escaped(property))'" }
        return text + ": " + message
    }

    static func name(of code: Int32) -> String {
        guard let name = fdt_strerror(-code) else { return "libfdt error \(code)" }
        return String(cString: name)
    }

    /// libfdt's messages are bare constant names; this says what each means for someone editing a tree.
    private static func gloss(of code: Int32) -> String {
        switch code {
        case FDT_ERR_NOTFOUND: "no such node or property"
        case FDT_ERR_EXISTS: "already exists"
        case FDT_ERR_NOSPACE: "not enough room in the buffer"
        case FDT_ERR_BADOFFSET: "an offset points outside its block or at the wrong kind of item"
        case FDT_ERR_BADPATH: "malformed node path"
        case FDT_ERR_BADPHANDLE: "invalid phandle"
        case FDT_ERR_BADSTATE: "tree is in an unfinished state"
        case FDT_ERR_TRUNCATED: "the data ends before the tree does"
        case FDT_ERR_BADMAGIC: "not a device tree blob (bad magic number)"
        case FDT_ERR_BADVERSION: "unsupported device tree version"
        case FDT_ERR_BADSTRUCTURE: "corrupt structure block"
        case FDT_ERR_BADLAYOUT: "blocks are laid out in an order libfdt cannot edit"
        case FDT_ERR_INTERNAL: "libfdt internal error"
        case FDT_ERR_BADNCELLS: "bad #address-cells or #size-cells"
        case FDT_ERR_BADVALUE: "unexpected property value"
        case FDT_ERR_BADOVERLAY: "malformed overlay"
        case FDT_ERR_NOPHANDLES: "no phandle values left"
        case FDT_ERR_BADFLAGS: "invalid flags"
        case FDT_ERR_ALIGNMENT: "blob is not suitably aligned in memory"
        default: "unknown error"
        }
    }
}
