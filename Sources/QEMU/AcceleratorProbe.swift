import BoardModel
import Foundation
import Host

extension Accelerator {
    /// KVM when it really works for this board on this host, else TCG. The answer is found by trying and kept
    /// for the rest of the process, per binary, machine and CPU. `kvmCPUFlags` are the guest architecture's
    /// (which is then the host's): one of them must be in /proc/cpuinfo for KVM to run an ordinary kernel.
    public static func choose(for spec: QEMUSpec, guestArch: String, kvmCPUFlags: [String]) async -> Accelerator {
        guard guestArch == hostArchitecture, hardwareVirtualizationVisible(needingOneOf: kvmCPUFlags) else { return .tcg }
        return await AcceleratorProbe.shared.result(for: spec)
    }

    /// The host's architecture as `uname -m` names it, the way board files name theirs.
    static var hostArchitecture: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Without the flags /dev/kvm may still open and a trial with no guest code may even pass (paravirtual KVM
    /// such as PVM), yet a normal kernel hangs: the architecture data says which flags prove real support.
    static func hardwareVirtualizationVisible(needingOneOf flags: [String]) -> Bool {
        guard !flags.isEmpty else { return true }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return cpuinfo.split(separator: "\n").contains { line in
            line.hasPrefix("flags") && line.split(separator: " ").contains { flags.contains(String($0)) }
        }
    }
}

/// Tries each QEMU configuration once with `-accel kvm`, the machine and CPU created but not started, and
/// remembers whether QEMU accepted it.
actor AcceleratorProbe {
    static let shared = AcceleratorProbe()
    private var results: [[String]: Task<Accelerator, Never>] = [:]

    /// QEMU's arguments for the trial; `run-qemu.sh` makes the same one on the host that runs it.
    static func kvmTrialArguments(for spec: QEMUSpec) -> [String] {
        var arguments = ["-accel", "kvm", "-M", spec.machine]
        if let cpu = spec.cpu { arguments += ["-cpu", cpu] }
        // -S: create the machine and stop; the monitor on stdin then takes 'quit'.
        return arguments + ["-S", "-nodefaults", "-display", "none", "-monitor", "stdio"]
    }

    /// Seconds the trial may take before it counts as a failure.
    static let trialSeconds = 5

    func result(for spec: QEMUSpec) async -> Accelerator {
        let command = Command(spec.binary, Self.kvmTrialArguments(for: spec))
        let key = [command.executable] + command.arguments
        if let known = results[key] { return await known.value }
        let trial = Task { await Self.tryKVM(command) }
        results[key] = trial
        return await trial.value
    }

    private static func tryKVM(_ command: Command) async -> Accelerator {
        let (ended, endedContinuation) = AsyncStream<Never>.makeStream()
        let outcome = try? await ProcessRunner.withInteractiveProcess(command, onOutput: { event in
            if case .ended = event { endedContinuation.finish() }
        }) { process in
            try? await process.write("quit\n")
            return await finishes(ended, within: .seconds(trialSeconds))
        }
        guard let outcome, outcome.result, outcome.status.succeeded else { return .tcg }
        return .kvm
    }
}

/// Whether `stream` finishes within `limit`.
private func finishes(_ stream: AsyncStream<Never>, within limit: Duration) async -> Bool {
    await withTaskGroup(of: Bool.self) { group in
        group.addTask {
            for await _ in stream {}
            return !Task.isCancelled
        }
        group.addTask {
            try? await Task.sleep(for: limit)
            return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
    }
}
