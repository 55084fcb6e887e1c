/// The allow-list of `qemu.extra_args`: options bspgen lets a board add to QEMU's command line, each with the
/// values it accepts. The guest gets the artifacts and nothing of the host (no files, sockets, programs or
/// network), and nothing bspgen sets itself is overridden. `bspgen validate` and the QEMU command line both ask
/// here, so a board the build would refuse never validates.
public enum QEMUExtraArguments {
    /// An argument refused, with its index in `extra_args` and why.
    public struct Refusal: Sendable, Equatable {
        public var index: Int
        public var argument: String
        public var reason: String
    }

    /// Every refused argument, in order.
    public static func problems(_ arguments: [String]) -> [Refusal] {
        var refusals: [Refusal] = []
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            let at = index
            index += 1
            func refuse(_ reason: String, _ argument: String = word) { refusals.append(Refusal(index: at, argument: argument, reason: reason)) }
            guard word.hasPrefix("-") else {
                refuse("a value without an option before it")
                continue
            }
            guard let rule = allowedOptions[optionName(word)] else {
                refuse(forbiddenReasons[optionName(word)] ?? "it is not among the options bspgen allows ("
                    + allowedOptions.keys.sorted().joined(separator: " ") + "); the guest gets the artifacts and nothing of the host")
                // Its value, if it has one, is part of the same refusal.
                if index < arguments.count, !arguments[index].hasPrefix("-") { index += 1 }
                continue
            }
            guard let check = rule else { continue }
            guard index < arguments.count else {
                refuse("it needs a value")
                continue
            }
            let value = arguments[index]
            index += 1
            if let reason = check(value) { refuse(reason, "\(word) \(value)") }
        }
        return refusals
    }

    /// QEMU takes `--option` as `-option`.
    public static func optionName(_ argument: String) -> String {
        argument.hasPrefix("--") ? String(argument.dropFirst()) : argument
    }

    /// Allowed options and how their value is checked (nil: a flag without a value).
    private static let allowedOptions: [String: (@Sendable (String) -> String?)?] = {
        /// Properties by which devices reach host files or programs.
        let hostProperties = ["file=", "path=", "script=", "chardev=", "netdev=", "drive=", "fsdev=", "romfile="]
        let noHostProperty: @Sendable (String) -> String? = { value in
            hostProperties.first(where: value.contains).map { "'\($0)' would reach a host file, program or socket" }
        }
        let only: @Sendable (Set<String>) -> @Sendable (String) -> String? = { allowed in
            { allowed.contains($0) ? nil : "allowed values: \(allowed.sorted().joined(separator: ", "))" }
        }
        return [
            "-nic": only(["none"]), "-device": noHostProperty, "-global": noHostProperty,
            "-display": only(["none"]), "-vga": only(["none", "std", "virtio"]), "-rtc": noHostProperty, "-icount": noHostProperty,
            "-nodefaults": nil, "-usb": nil, "-no-hpet": nil,
        ]
    }()

    /// Why the usual suspects are refused, for a clearer message than "not allowed".
    private static let forbiddenReasons: [String: String] = {
        var reasons: [String: String] = [:]
        for option in ["-M", "-machine", "-cpu", "-m", "-smp", "-accel", "-enable-kvm", "-kernel", "-initrd", "-dtb",
                       "-append", "-nographic", "-no-reboot"] {
            reasons[option] = "bspgen sets it from the board's qemu section"
        }
        for option in ["-net", "-netdev"] { reasons[option] = "the guest gets no host network; '-nic none' is the only network option" }
        for option in ["-virtfs", "-fsdev", "-drive", "-blockdev", "-hda", "-hdb", "-cdrom", "-sd", "-pflash", "-bios", "-chardev",
                       "-serial", "-monitor", "-qmp", "-gdb", "-readconfig", "-plugin", "-object", "-semihosting", "-semihosting-config"] {
            reasons[option] = "it would give QEMU or the guest access to host files, sockets or programs"
        }
        return reasons
    }()
}
