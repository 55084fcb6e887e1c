import CFDT
import UserInput

/// A flattened device tree (`.dtb`), validated on the way in and edited through libfdt.
///
/// A value type: copies are independent, and every libfdt call works on this value's own buffer, so it is
/// safe to share across concurrency domains.
public struct DeviceTreeBlob: Sendable {
    /// A validated tree in the layout libfdt edits (header, reservations, structure, strings), whose
    /// header `totalsize` equals `storage.count`; any space after the strings is room for edits.
    private var storage: [UInt8]

    /// Far deeper than any real board nests; the bound keeps the recursive walks' stack use small
    /// whatever the input says.
    static let maximumDepth: Int32 = 128
    private static let magic = 0xd00d_feed
    private static let headerSize = 40

    public init(bytes: some Sequence<UInt8>) throws {
        let data = Array(bytes)
        let editableSize = try Self.validate(data, operation: "open")
        // Rewriting into libfdt's editable layout up front means every later edit and pack can rely on it.
        storage = try data.withUnsafeBytes { buffer in
            try Self.reopen(buffer.baseAddress, size: editableSize, operation: "open")
        }
    }

    public init(contentsOf file: String) throws {
        let data = try File.readAll(file, operation: "read \(UserText.escaped(file))")
        do {
            try self.init(bytes: data)
        } catch var error as DeviceTreeError {
            error.operation = "open \(UserText.escaped(file))"
            throw error
        }
    }

    /// The tree with its free space squeezed out, as it should be stored.
    public var bytes: [UInt8] {
        var packed = self
        packed.pack()
        return packed.storage
    }

    public mutating func pack() {
        // fdt_pack fails only on layouts libfdt cannot edit, and init rewrote the tree into one it can;
        // were it to fail anyway, the unpacked tree is still a valid one.
        if withMutableTree({ fdt_pack($0) }) == 0 {
            storage.removeSubrange(storage.word(at: 4)...)
        }
    }

    /// Zeroes the alignment padding after node names and property values. libfdt leaves whatever bytes were
    /// there when a property is resized or the structure moves, so two trees with the same content could differ
    /// in those bytes (QEMU's dumps do, run to run); zeroed, the same content gives the same bytes.
    public mutating func zeroPadding() {
        let start = storage.word(at: 8)
        let end = min(start + storage.word(at: 36), storage.count)
        var offset = start
        while offset + 4 <= end {
            let token = storage.word(at: offset)
            offset += 4
            switch token {
            case 1:  // FDT_BEGIN_NODE: a NUL-terminated name, padded to 4 bytes
                var nameEnd = offset
                while nameEnd < end, storage[nameEnd] != 0 { nameEnd += 1 }
                let next = (nameEnd + 1 + 3) & ~3
                guard next <= end else { return }
                for index in (nameEnd + 1)..<next { storage[index] = 0 }
                offset = next
            case 3:  // FDT_PROP: length, name offset, value padded to 4 bytes
                guard offset + 8 <= end else { return }
                let valueEnd = offset + 8 + storage.word(at: offset)
                let next = (valueEnd + 3) & ~3
                guard next <= end else { return }
                for index in valueEnd..<next { storage[index] = 0 }
                offset = next
            case 2, 4:  // FDT_END_NODE, FDT_NOP
                continue
            default:  // FDT_END
                return
            }
        }
    }

    // MARK: Validation

    /// Checks everything libfdt will later trust, and returns the size libfdt needs to lay the tree out
    /// for editing: its totalsize, or more when the blocks are out of order or the header is v16. The header checks done here
    /// before libfdt's own are there to say which field is wrong; `fdt_check_full` then checks the header
    /// again and walks every tag, name and string reference.
    private static func validate(_ data: [UInt8], operation: String) throws -> Int {
        func failure(_ code: Int32, _ detail: String) -> DeviceTreeError {
            DeviceTreeError(operation: operation, libfdtResult: -code, detail: detail)
        }
        func field(_ index: Int) -> Int { data.word(at: index * 4) }
        guard data.count >= 8 else {
            throw failure(FDT_ERR_TRUNCATED, "\(data.count) bytes is too short for a device tree header")
        }
        guard field(0) == magic else {
            throw failure(FDT_ERR_BADMAGIC, "magic is \(hex(field(0))), expected \(hex(magic)); not a device tree blob")
        }
        let totalSize = field(1)
        guard totalSize <= data.count else {
            throw failure(FDT_ERR_TRUNCATED, "header totalsize is \(totalSize) bytes but only \(data.count) bytes are present")
        }
        // Every real tree is larger than a v17 header: even the oldest format adds a reservation terminator.
        guard totalSize >= headerSize else {
            throw failure(FDT_ERR_TRUNCATED, "header totalsize \(totalSize) is smaller than the \(headerSize)-byte header")
        }
        let version = field(5)
        // libfdt 1.6.1's fdt_check_full dereferences a null name for a pre-v16 tree whose root name has
        // no '/'; nothing has written such old trees for years, so they are refused before libfdt sees them.
        guard version >= 16 else {
            throw failure(FDT_ERR_BADVERSION, "version \(version) is older than 16, the oldest supported")
        }
        let structureSize = version >= 17 ? field(9) : max(4, totalSize - field(2))
        let blocks = [
            ("memory reservation block", field(4), 16),
            ("structure block", field(2), structureSize),
            ("strings block", field(3), field(8)),
        ]
        for (block, offset, size) in blocks where offset + size > totalSize {
            throw failure(FDT_ERR_TRUNCATED,
                          "\(block) at offset \(offset) (\(size) bytes) lies outside the \(totalSize)-byte tree")
        }
        let structureEnd = try data.withUnsafeBytes { buffer -> Int in
            // libfdt 1.6.1's fdt_check_full never ends on a property whose negative length steps back onto its own
            // tag (-12: the next tag is the same one; found by scripts/fuzz.sh): properties are walked before it
            // runs, and every step must go forward. What else is wrong is left to fdt_check_full to name.
            var step: Int32 = 0
            while true {
                var next: Int32 = 0
                let tag = fdt_next_tag(buffer.baseAddress, step, &next)
                if next < 0 || tag == FDT_END { break }
                var length: Int32 = 0
                if tag == FDT_PROP, fdt_get_property_by_offset(buffer.baseAddress, step, &length) != nil, length < 0 {
                    throw failure(FDT_ERR_BADSTRUCTURE, "property at structure offset \(step) has invalid length \(length)")
                }
                guard next > step else {
                    throw failure(FDT_ERR_BADSTRUCTURE, "the tag at structure offset \(step) does not lead forward")
                }
                step = next
            }
            let status = fdt_check_full(buffer.baseAddress, totalSize)
            guard status == 0 else { throw DeviceTreeError(operation: operation, libfdtResult: status) }
            // libfdt 1.6.1 reads a property's length as a signed int, and fdt_check_full lets small negative
            // lengths through; walking the tags once more rejects those, checks there is a root, and bounds
            // the nesting.
            let fdt = buffer.baseAddress
            var offset: Int32 = 0
            var depth: Int32 = 0
            while true {
                var next: Int32 = 0
                let tag = fdt_next_tag(fdt, offset, &next)
                guard next >= 0 else { throw DeviceTreeError(operation: operation, libfdtResult: next) }
                // fdt_check_full accepts a structure block that is just FDT_END, but every lookup
                // starts from a root node at offset 0.
                guard offset != 0 || tag == FDT_BEGIN_NODE else {
                    throw failure(FDT_ERR_BADSTRUCTURE, "the structure block does not start with the root node")
                }
                switch Int32(bitPattern: tag) {
                case FDT_BEGIN_NODE:
                    depth += 1
                    guard depth <= maximumDepth else {
                        throw failure(FDT_ERR_BADSTRUCTURE, "nodes are nested deeper than \(maximumDepth) levels")
                    }
                case FDT_END_NODE:
                    depth -= 1
                case FDT_PROP:
                    var length: Int32 = 0
                    guard fdt_get_property_by_offset(fdt, offset, &length) != nil, length >= 0,
                          Int(offset) + 12 + Int(length) <= Int(next) else {
                        throw failure(FDT_ERR_BADSTRUCTURE, "property at structure offset \(offset) has invalid length \(length)")
                    }
                case FDT_END:
                    return Int(next)
                default:
                    break
                }
                offset = next
            }
        }
        let reservations = data.withUnsafeBytes { Int(fdt_num_mem_rsv($0.baseAddress)) }
        // libfdt checks that each block lies inside the tree, not that they are apart: in a blob whose blocks share
        // bytes, one edit rewrites the other block (a property written into the strings), and tools disagree on
        // what it holds. dtc never writes one, so it is refused. A v16 header has no structure size: the walk above
        // found where the structure ends.
        let laidOut = [
            ("header", 0, version >= 17 ? headerSize : 36),
            ("memory reservation block", field(4), (reservations + 1) * 16),
            ("structure block", field(2), version >= 17 ? field(9) : structureEnd),
            ("strings block", field(3), field(8)),
        ].filter { $0.2 > 0 }
        for (index, first) in laidOut.enumerated() {
            for second in laidOut[(index + 1)...] where first.1 < second.1 + second.2 && second.1 < first.1 + first.2 {
                throw failure(FDT_ERR_BADLAYOUT, "the \(first.0) (offset \(first.1), \(first.2) bytes) and the \(second.0) "
                              + "(offset \(second.1), \(second.2) bytes) overlap; the blocks of a blob must not share bytes")
            }
        }
        // fdt_open_into's own arithmetic for a tree it has to reorder.
        return max(totalSize, headerSize + (reservations + 1) * 16 + structureSize + field(8))
    }

    /// A copy of the tree at `fdt` in a fresh buffer of `size` bytes (libfdt's `fdt_open_into`).
    private static func reopen(_ fdt: UnsafeRawPointer?, size: Int, operation: String) throws -> [UInt8] {
        guard size <= Int32.max else {
            throw DeviceTreeError(operation: operation, libfdtResult: -FDT_ERR_NOSPACE,
                                  detail: "the tree would grow past libfdt's 2 GiB limit")
        }
        var buffer = [UInt8](repeating: 0, count: size)
        let status = buffer.withUnsafeMutableBytes { fdt_open_into(fdt, $0.baseAddress, Int32(size)) }
        guard status == 0 else { throw DeviceTreeError(operation: operation, libfdtResult: status) }
        return buffer
    }

    // MARK: Reading

    private func withTree<Result>(_ body: (UnsafeRawPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBytes { buffer in
            guard let fdt = buffer.baseAddress else { preconditionFailure("a validated tree is never empty") }
            return try body(fdt)
        }
    }

    private mutating func withMutableTree<Result>(_ body: (UnsafeMutableRawPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeMutableBytes { buffer in
            guard let fdt = buffer.baseAddress else { preconditionFailure("a validated tree is never empty") }
            return try body(fdt)
        }
    }

    private func offset(of path: String, for operation: String, property: String? = nil) throws -> Int32 {
        let offset = withTree { fdt_path_offset($0, path) }
        guard offset >= 0 else {
            throw DeviceTreeError(operation: operation, nodePath: path, property: property, libfdtResult: offset,
                                  detail: offset == -FDT_ERR_NOTFOUND ? "no such node" : nil)
        }
        return offset
    }

    /// The property `name` of the node at `path`, or nil when that node has no such property.
    /// Throws when the node itself does not exist. `path` may also start with an alias.
    public func property(_ name: String, at path: String) throws -> Property? {
        let node = try offset(of: path, for: "get", property: name)
        return try withTree { fdt in
            var length: Int32 = 0
            guard let value = fdt_getprop(fdt, node, name, &length), length >= 0 else {
                if length == -FDT_ERR_NOTFOUND { return nil }
                throw DeviceTreeError(operation: "get", nodePath: path, property: name, libfdtResult: length)
            }
            return Property(name: name, value: Array(UnsafeRawBufferPointer(start: value, count: Int(length))))
        }
    }

    /// The node at `path` with all its properties and descendants.
    public func node(at path: String = "/") throws -> Node {
        let start = try offset(of: path, for: "read")
        let canonicalPath = try withTree { fdt in
            // No path is longer than the structure block that spells it out.
            var buffer = [CChar](repeating: 0, count: storage.count)
            let status = fdt_get_path(fdt, start, &buffer, Int32(buffer.count))
            guard status == 0 else { throw DeviceTreeError(operation: "read", nodePath: path, libfdtResult: status) }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return try withTree { try Self.node(in: $0, at: start, path: canonicalPath) }
    }

    private static func node(in fdt: UnsafeRawPointer, at offset: Int32, path: String) throws -> Node {
        func failure(_ status: Int32) -> DeviceTreeError {
            DeviceTreeError(operation: "read", nodePath: path, libfdtResult: status)
        }
        var length: Int32 = 0
        guard let namePointer = fdt_get_name(fdt, offset, &length), length >= 0 else { throw failure(length) }
        var node = Node(name: text(namePointer, count: length), path: path)

        var property = fdt_first_property_offset(fdt, offset)
        while property >= 0 {
            var propertyName: UnsafePointer<CChar>?
            guard let value = fdt_getprop_by_offset(fdt, property, &propertyName, &length), let propertyName, length >= 0 else {
                throw failure(length)
            }
            node.properties.append(Property(name: String(cString: propertyName),
                                            value: Array(UnsafeRawBufferPointer(start: value, count: Int(length)))))
            property = fdt_next_property_offset(fdt, property)
        }
        guard property == -FDT_ERR_NOTFOUND else { throw failure(property) }

        var child = fdt_first_subnode(fdt, offset)
        while child >= 0 {
            guard let childName = fdt_get_name(fdt, child, &length), length >= 0 else { throw failure(length) }
            let name = text(childName, count: length)
            node.children.append(try Self.node(in: fdt, at: child, path: path == "/" ? "/" + name : path + "/" + name))
            child = fdt_next_subnode(fdt, child)
        }
        guard child == -FDT_ERR_NOTFOUND else { throw failure(child) }
        return node
    }

    private static func text(_ pointer: UnsafePointer<CChar>, count: Int32) -> String {
        pointer.withMemoryRebound(to: UInt8.self, capacity: Int(count)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(count)), as: UTF8.self)
        }
    }

    public func memoryReservations() throws -> [MemoryReservation] {
        try withTree { fdt in
            let count = fdt_num_mem_rsv(fdt)
            guard count >= 0 else { throw DeviceTreeError(operation: "read reservations", libfdtResult: count) }
            return try (0..<count).map { index in
                var reservation = MemoryReservation(address: 0, size: 0)
                let status = fdt_get_mem_rsv(fdt, index, &reservation.address, &reservation.size)
                guard status == 0 else { throw DeviceTreeError(operation: "read reservations", libfdtResult: status) }
                return reservation
            }
        }
    }

    /// `#address-cells` of the node at `path`: how many cells its children's addresses take (2 when absent).
    public func addressCells(at path: String) throws -> Int {
        let node = try offset(of: path, for: "get", property: "#address-cells")
        let cells = withTree { fdt_address_cells($0, node) }
        guard cells >= 0 else {
            throw DeviceTreeError(operation: "get", nodePath: path, property: "#address-cells", libfdtResult: cells)
        }
        return Int(cells)
    }

    // MARK: Editing

    /// Sets property `name` of the node at `path`; with `createNodes`, missing nodes on the path are made
    /// first (`fdtput -p`).
    public mutating func setProperty(_ name: String, _ value: PropertyValue, at path: String, createNodes: Bool = false) throws {
        let operation = "set"
        try Self.checkPath(path, operation: operation)
        try Self.checkName(name, kind: "property", operation: operation, path: path)
        let node = createNodes
            ? try makeNode(at: path, createParents: true, existingIsError: false, operation: operation)
            : try offset(of: path, for: operation, property: name)
        let encoded = value.encoded
        guard encoded.count <= Int32.max else {
            throw DeviceTreeError(operation: operation, nodePath: path, property: name, libfdtResult: -FDT_ERR_BADVALUE,
                                  detail: "a \(encoded.count)-byte value is too large for a device tree")
        }
        // A failed fdt_setprop leaves node offsets alone (it only ever appends to the strings block), so
        // `node` stays valid across the retry after growing.
        try edit(operation, nodePath: path, property: name, room: encoded.count + name.utf8.count + 32) { fdt in
            encoded.withUnsafeBytes { fdt_setprop(fdt, node, name, $0.baseAddress, Int32(encoded.count)) }
        }
    }

    public mutating func deleteProperty(_ name: String, at path: String) throws {
        let node = try offset(of: path, for: "delete", property: name)
        try edit("delete", nodePath: path, property: name, room: 0) { fdt_delprop($0, node, name) }
    }

    /// Adds the node at the absolute `path`. Without `createParents` its parent must exist and the node
    /// must not (`fdtput -c`); with it, missing parents are made and an existing node is fine (`fdtput -c -p`).
    public mutating func addNode(at path: String, createParents: Bool = false) throws {
        try makeNode(at: path, createParents: createParents, existingIsError: !createParents, operation: "add node")
    }

    public mutating func deleteNode(at path: String) throws {
        let node = try offset(of: path, for: "delete node")
        guard node != 0 else {
            throw DeviceTreeError(operation: "delete node", nodePath: path, message: "the root node cannot be deleted")
        }
        try edit("delete node", nodePath: path, room: 0) { fdt_del_node($0, node) }
    }

    /// Returns the offset of the node at `path`, adding it (and, if asked, its missing ancestors).
    @discardableResult
    private mutating func makeNode(at path: String, createParents: Bool, existingIsError: Bool, operation: String) throws -> Int32 {
        guard path.hasPrefix("/") else {
            throw DeviceTreeError(operation: operation, nodePath: path, libfdtResult: -FDT_ERR_BADPATH,
                                  detail: "a node to create needs an absolute path")
        }
        let names = path.split(separator: "/").map(String.init)
        if names.isEmpty, existingIsError {
            throw DeviceTreeError(operation: operation, nodePath: path, libfdtResult: -FDT_ERR_EXISTS)
        }
        // Opening refuses deeper trees, so making one here would make a blob that cannot be read back.
        guard names.count < Self.maximumDepth else {
            throw DeviceTreeError(operation: operation, nodePath: path, libfdtResult: -FDT_ERR_BADPATH,
                                  detail: "nodes may nest at most \(Self.maximumDepth) levels deep")
        }
        var node: Int32 = 0
        var walked = ""
        for (index, name) in names.enumerated() {
            walked += "/" + name
            try Self.checkName(name, kind: "node", operation: operation, path: walked)
            let isLast = index == names.count - 1
            let parent = node
            let existing = withTree { fdt_subnode_offset($0, parent, name) }
            if existing >= 0 {
                guard !(isLast && existingIsError) else {
                    throw DeviceTreeError(operation: operation, nodePath: walked, libfdtResult: -FDT_ERR_EXISTS)
                }
                node = existing
                continue
            }
            guard existing == -FDT_ERR_NOTFOUND, isLast || createParents else {
                throw DeviceTreeError(operation: operation, nodePath: walked, libfdtResult: existing,
                                      detail: existing == -FDT_ERR_NOTFOUND ? "no such node (create parents to add it)" : nil)
            }
            node = try edit(operation, nodePath: walked, room: name.utf8.count + 16) { fdt_add_subnode($0, parent, name) }
        }
        return node
    }

    /// The characters dtc accepts in names (checks.c: NODECHARS, PROPCHARS); a name with any other byte makes a
    /// blob that dtc refuses and the kernel may misread.
    private static let alphanumerics = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    private static let nodeNameCharacters = Set((alphanumerics + ",._+-@").utf8)
    private static let propertyNameCharacters = Set((alphanumerics + ",._+*#?-").utf8)

    /// Why `name` cannot be a node's (`kind` "node") or a property's name, or nil when it can.
    static func nameProblem(_ name: String, kind: String) -> String? {
        if name.isEmpty { return "an empty \(kind) name" }
        if kind == "node" && (name == "." || name == "..") {
            return "'\(name)' is not a node: a device tree path has no '.' or '..' components; write the path without them"
        }
        let bytes = Array(name.utf8)
        let allowed = kind == "node" ? nodeNameCharacters : propertyNameCharacters
        if let bad = bytes.first(where: { !allowed.contains($0) }) {
            let shown = bad == 0x20 ? "a space"
                : bad > 0x20 && bad < 0x7F ? "'\(Character(Unicode.Scalar(bad)))'" : "byte \\x\(String(bad, radix: 16, uppercase: true))"
            return "\(shown) may not appear in a \(kind) name; use letters, digits and "
                + (kind == "node" ? ", . _ + - (and one @ before the unit address)" : ", . _ + * # ? -")
        }
        if kind == "node", bytes.filter({ $0 == UInt8(ascii: "@") }).count > 1 || bytes.first == UInt8(ascii: "@") {
            return "a node name is NAME or NAME@UNIT-ADDRESS, with one '@' after a name"
        }
        return nil
    }

    private static func checkName(_ name: String, kind: String, operation: String, path: String) throws {
        guard let problem = nameProblem(name, kind: kind) else { return }
        throw DeviceTreeError(operation: operation, nodePath: path, property: kind == "property" ? name : nil,
                              libfdtResult: -FDT_ERR_BADVALUE, detail: "invalid \(kind) name '\(UserText.escaped(name))': \(problem)")
    }

    /// Refuses a path with a '.' or '..' component or an invalid node name before it is looked up or created.
    private static func checkPath(_ path: String, operation: String) throws {
        guard path.hasPrefix("/") else { return }  // an alias, which libfdt resolves and checks
        var walked = ""
        for name in path.split(separator: "/", omittingEmptySubsequences: true).map(String.init) {
            walked += "/" + name
            try checkName(name, kind: "node", operation: operation, path: walked)
        }
    }

    /// Runs a libfdt edit; when libfdt reports the buffer full, grows it by at least `room` bytes and tries
    /// again. libfdt checks for space before it changes anything, so a retry starts from an intact tree.
    @discardableResult
    private mutating func edit(_ operation: String, nodePath: String, property: String? = nil, room: Int,
                               _ body: (UnsafeMutableRawPointer) -> Int32) throws -> Int32 {
        var status = withMutableTree(body)
        if status == -FDT_ERR_NOSPACE {
            try grow(by: room, operation: operation)
            status = withMutableTree(body)
        }
        guard status >= 0 else {
            throw DeviceTreeError(operation: operation, nodePath: nodePath, property: property, libfdtResult: status)
        }
        return status
    }

    /// Moves the tree into a buffer at least `room` bytes larger; node and property offsets stay the same.
    private mutating func grow(by room: Int, operation: String) throws {
        let size = storage.count + max(room, storage.count / 2) + 1024
        storage = try withTree { try Self.reopen($0, size: size, operation: operation) }
    }

    // MARK: Overlays

    /// The tree with `overlay` (a `/plugin/;` tree) applied. libfdt leaves both trees damaged when applying
    /// fails, so it works on copies: on error this value and `overlay` are untouched.
    public func applying(_ overlay: DeviceTreeBlob) throws -> DeviceTreeBlob {
        let operation = "apply overlay"
        var room = overlay.storage.count + 1024
        for _ in 0..<3 {
            var result = self
            try result.grow(by: room, operation: operation)
            var scratchOverlay = overlay.storage
            let status = result.withMutableTree { base in
                scratchOverlay.withUnsafeMutableBytes { fdt_overlay_apply(base, $0.baseAddress) }
            }
            if status == 0 {
                // Checked again because a bad overlay can make libfdt build a tree that is not one.
                _ = try Self.validate(result.storage, operation: operation)
                return result
            }
            guard status == -FDT_ERR_NOSPACE else {
                throw DeviceTreeError(operation: operation, libfdtResult: status, detail: status == -FDT_ERR_NOTFOUND
                    ? "a target path or label of the overlay is missing in the base (compile the base with dtc -@ to keep its labels)"
                    : nil)
            }
            room *= 4
        }
        throw DeviceTreeError(operation: operation, libfdtResult: -FDT_ERR_NOSPACE)
    }
}

func hex(_ value: some BinaryInteger) -> String {
    "0x" + String(value, radix: 16)
}
