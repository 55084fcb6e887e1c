/// What differs between two trees, node by node and property by property; `description` prints it as
/// device tree source with `-`/`+` lines.
public struct DeviceTreeDiff: Sendable, Equatable, CustomStringConvertible {
    public enum Change: Sendable, Equatable {
        case reservations(old: [MemoryReservation], new: [MemoryReservation])
        case nodeAdded(Node)
        case nodeRemoved(Node)
        case propertyAdded(nodePath: String, Property)
        case propertyRemoved(nodePath: String, Property)
        case propertyChanged(nodePath: String, old: Property, new: Property)
    }

    public var changes: [Change]
    public var isEmpty: Bool { changes.isEmpty }

    public init(from old: DeviceTreeBlob, to new: DeviceTreeBlob) throws {
        changes = []
        let oldReservations = try old.memoryReservations()
        let newReservations = try new.memoryReservations()
        if oldReservations != newReservations {
            changes.append(.reservations(old: oldReservations, new: newReservations))
        }
        Self.compare(try old.node(), try new.node(), into: &changes)
    }

    private static func compare(_ old: Node, _ new: Node, into changes: inout [Change]) {
        for pair in pairs(old.properties, new.properties, by: \.name) {
            switch pair {
            case let (before?, after?) where before != after:
                changes.append(.propertyChanged(nodePath: new.path, old: before, new: after))
            case let (before?, nil): changes.append(.propertyRemoved(nodePath: old.path, before))
            case let (nil, after?): changes.append(.propertyAdded(nodePath: new.path, after))
            default: break
            }
        }
        for pair in pairs(old.children, new.children, by: \.name) {
            switch pair {
            case let (before?, after?): compare(before, after, into: &changes)
            case let (before?, nil): changes.append(.nodeRemoved(before))
            case let (nil, after?): changes.append(.nodeAdded(after))
            case (nil, nil): break
            }
        }
    }

    /// Pairs items with the same key, in `old`'s order, then lists the unpaired new ones. A malformed but
    /// valid blob can repeat a name; repeats pair up in order.
    private static func pairs<Item>(_ old: [Item], _ new: [Item], by key: (Item) -> String) -> [(Item?, Item?)] {
        var unpaired = Dictionary(grouping: new.indices, by: { key(new[$0]) })
        var paired = Set<Int>()
        var result: [(Item?, Item?)] = old.map { item in
            guard let index = unpaired[key(item)]?.first else { return (item, nil) }
            unpaired[key(item)]?.removeFirst()
            paired.insert(index)
            return (item, new[index])
        }
        result += new.indices.filter { !paired.contains($0) }.map { (nil, new[$0]) }
        return result
    }

    public var description: String {
        var text = ""
        var openNode: String?
        func open(_ path: String) {
            guard openNode != path else { return }
            close()
            text += " \(path) {\n"
            openNode = path
        }
        func close() {
            if openNode != nil { text += " };\n" }
            openNode = nil
        }
        for change in changes {
            switch change {
            case let .reservations(old, new):
                close()
                text += old.map { "-" + DTS.line(for: $0) + "\n" }.joined()
                text += new.map { "+" + DTS.line(for: $0) + "\n" }.joined()
            case let .nodeAdded(node):
                close()
                DTS.append(node, title: node.path, marker: "+", to: &text)
            case let .nodeRemoved(node):
                close()
                DTS.append(node, title: node.path, marker: "-", to: &text)
            case let .propertyAdded(path, property):
                open(path)
                text += "+\t" + DTS.line(for: property) + "\n"
            case let .propertyRemoved(path, property):
                open(path)
                text += "-\t" + DTS.line(for: property) + "\n"
            case let .propertyChanged(path, old, new):
                open(path)
                text += "-\t" + DTS.line(for: old) + "\n" + "+\t" + DTS.line(for: new) + "\n"
            }
        }
        close()
        return text
    }
}
