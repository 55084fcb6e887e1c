/// A base config with fragments laid over it in order, as `merge_config.sh` does: the later
/// assignment of a symbol wins.
public struct KconfigMerge: Hashable, Sendable {
    /// A fragment's value replaced by a different value later on (further down the same
    /// fragment or in a later one). Replacing the base config's values is what fragments are
    /// for, so those are not recorded.
    public struct Override: Hashable, Sendable, CustomStringConvertible {
        public var previous: KconfigAssignment
        public var replacement: KconfigAssignment

        public var symbol: String { replacement.symbol }

        public var description: String {
            "\(replacement.origin): \(replacement.line) overrides \(previous.line) from \(previous.origin)"
        }
    }

    /// One assignment per symbol: the base config's symbols in its order, then symbols new
    /// in the fragments in the order they were first requested. Origins tell where each
    /// value came from; `merged.text` is the `.config` to hand to `make olddefconfig`.
    public let merged: KconfigFile
    /// What the fragments ask for, one assignment per symbol (the last one), in the order
    /// symbols were first requested: the input of ``KconfigCheck``.
    public let requested: [KconfigAssignment]
    public let overrides: [Override]

    public init(base: KconfigFile, fragments: [KconfigFile]) {
        var order: [String] = []
        var current: [String: KconfigAssignment] = [:]
        func assign(_ assignment: KconfigAssignment) {
            if current[assignment.symbol] == nil { order.append(assignment.symbol) }
            current[assignment.symbol] = assignment
        }
        base.assignments.forEach(assign)

        var requestedOrder: [String] = []
        var requested: [String: KconfigAssignment] = [:]
        var overrides: [Override] = []
        for assignment in fragments.flatMap(\.assignments) {
            if let previous = requested[assignment.symbol] {
                if !previous.value.isSame(as: assignment.value) {
                    overrides.append(Override(previous: previous, replacement: assignment))
                }
            } else {
                requestedOrder.append(assignment.symbol)
            }
            requested[assignment.symbol] = assignment
            assign(assignment)
        }
        merged = KconfigFile(name: base.name, assignments: order.compactMap { current[$0] })
        self.requested = requestedOrder.compactMap { requested[$0] }
        self.overrides = overrides
    }
}
