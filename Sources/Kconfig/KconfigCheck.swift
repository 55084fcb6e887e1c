/// An option the fragments asked for that the final `.config` does not have.
public struct KconfigProblem: Hashable, Sendable, CustomStringConvertible {
    public var symbol: String
    public var requested: KconfigValue
    /// `nil` when the symbol is absent from the final `.config`.
    public var obtained: KconfigValue?
    /// The fragment line that asked for it.
    public var origin: KconfigOrigin
    /// The line was marked `# optional`: worth a warning, not an error.
    public var isOptional: Bool
    /// Why Kconfig did not give the requested value, when the index tells.
    public var explanation: String?

    /// One line, e.g. `board.config:3: CONFIG_FOO=y requested, got not set — depends on
    /// PCI && ACPI: PCI is n`.
    public var description: String {
        let got = obtained.map { $0 == .tristate(.no) ? "not set" : $0.description } ?? "not set"
        return "\(origin): \(isOptional ? "optional " : "")CONFIG_\(symbol)=\(requested) requested, got \(got)"
            + (explanation.map { " — \($0)" } ?? "")
    }
}

/// Compares what the fragments asked for with what `make olddefconfig` made of it.
public enum KconfigCheck {
    /// A problem for every requested option the `obtained` config does not have: absent or
    /// `n` although asked for y/m/a value, y/m although asked for n, or a different value.
    /// With an `index` of the kernel tree each problem says why where it can. The
    /// `architecture` (the kernel's `ARCH`, e.g. `arm64`) decides which `arch/` definitions
    /// count; without it, it is inferred from `obtained`.
    public static func check(
        requested: [KconfigAssignment], obtained: KconfigFile, index: KconfigIndex?, architecture: String? = nil
    ) -> [KconfigProblem] {
        let values = obtained.values
        let explainer = index.map { index in
            Explainer(index: index, config: values,
                      architectures: architecture.map { [$0] } ?? index.architectures(enabledIn: values))
        }
        return requested.compactMap { assignment in
            let value = values[assignment.symbol]
            let satisfied = assignment.value == .tristate(.no)
                ? value == nil || value == .tristate(.no)
                : value.map(assignment.value.isSame(as:)) ?? false
            guard !satisfied else { return nil }
            return KconfigProblem(
                symbol: assignment.symbol, requested: assignment.value, obtained: value, origin: assignment.origin,
                isOptional: assignment.isOptional, explanation: explainer?.explain(assignment.symbol, requested: assignment.value))
        }
    }
}

/// Finds, from the Kconfig definitions, the reasons a requested value was not obtained.
private struct Explainer {
    let index: KconfigIndex
    let config: [String: KconfigValue]
    let architectures: Set<String>

    func explain(_ symbol: String, requested: KconfigValue) -> String? {
        guard let entries = index.definitions[symbol] else {
            let suggestions = index.suggestions(for: symbol).map { "CONFIG_\($0)" }
            return "no such symbol" + (suggestions.isEmpty ? "" : "; did you mean \(suggestions.joined(separator: ", "))?")
        }
        let relevant = entries.filter { $0.architecture.map(architectures.contains) ?? true }
        guard !relevant.isEmpty else {
            let defining = Set(entries.compactMap(\.architecture)).sorted().joined(separator: ", ")
            return "defined only for \(defining)"
                + (architectures.isEmpty ? "" : ", not for \(architectures.sorted().joined(separator: ", "))")
        }
        let type = relevant.lazy.compactMap(\.type).first
        if let type, !Self.accepts(type, requested) {
            return "CONFIG_\(symbol) is \(type == .int ? "an" : "a") \(type): \(requested) is not a valid value"
        }
        var reasons: [String] = []
        let prompted = relevant.filter(\.hasPrompt)
        if requested == .tristate(.no) {
            let selectors = activeSelectors(of: symbol)
            if !selectors.isEmpty {
                reasons.append("selected by " + selectors.map { "CONFIG_\($0)" }.joined(separator: ", "))
            } else if prompted.isEmpty {
                reasons.append("it has no prompt, so its default applies")
            } else if let hidden = unmetPromptConditions(prompted, below: .module, verb: "can only be changed when") {
                reasons.append(hidden)
            }
        } else {
            if requested == .tristate(.module), config["MODULES"] != .tristate(.yes) {
                reasons.append("CONFIG_MODULES is not enabled, so nothing can be m")
            }
            let required: Tristate = type == .tristate && requested == .tristate(.yes) ? .yes : .module
            if prompted.isEmpty {
                let selectors = Set((index.selections[symbol] ?? []).map(\.selector)).sorted()
                reasons.append("it has no prompt, so only a default or select sets it"
                    + (selectors.isEmpty ? "" : " (selected by \(selectors.map { "CONFIG_\($0)" }.joined(separator: ", ")))"))
            } else if let unmet = unmetPromptConditions(prompted, below: required, verb: "depends on") {
                reasons.append(unmet)
            } else if let chosen = chosenInstead(of: symbol, in: relevant) {
                reasons.append("it is in a choice where CONFIG_\(chosen)=y was chosen")
            }
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    private static func accepts(_ type: KconfigIndex.SymbolType, _ value: KconfigValue) -> Bool {
        switch (type, value) {
        case (.bool, .tristate(let tristate)): tristate != .module
        case (.tristate, .tristate): true
        case (.string, .string): true
        case (.int, .number), (.hex, .number): true
        default: false
        }
    }

    /// When no prompt of the symbol can be shown at `required`: `"<verb> <condition>: <unmet terms>"`
    /// for each distinct condition.
    private func unmetPromptConditions(_ prompted: [KconfigIndex.Definition], below required: Tristate, verb: String) -> String? {
        var conditions: [KconfigExpression] = []
        for definition in prompted {
            let terms = (definition.dependency.map(KconfigIndex.conjuncts) ?? []) + (definition.promptCondition.map { [$0] } ?? [])
            guard let condition = KconfigExpression.allOf(terms),
                  condition.value(in: config, index: index) < required else { return nil }
            if !conditions.contains(condition) { conditions.append(condition) }
        }
        return conditions.map { condition in
            "\(verb) \(condition): " + condition.unmetTerms(below: required, in: config, index: index).joined(separator: ", ")
        }.joined(separator: "; ")
    }

    /// Selectors that are on and whose `if` holds, in definition order.
    private func activeSelectors(of symbol: String) -> [String] {
        var seen = Set<String>()
        return (index.selections[symbol] ?? []).filter { selection in
            (config[selection.selector]?.tristate ?? .no) > .no
                && (selection.condition?.value(in: config, index: index) ?? .yes) > .no
        }.map(\.selector).filter { seen.insert($0).inserted }
    }

    private func chosenInstead(of symbol: String, in definitions: [KconfigIndex.Definition]) -> String? {
        definitions.lazy.compactMap(\.choice).flatMap(index.members(ofChoice:))
            .first { $0 != symbol && config[$0] == .tristate(.yes) }
    }
}
