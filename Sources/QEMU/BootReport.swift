/// What went wrong first in a headless boot test.
public enum BootFailure: Sendable, Equatable, Encodable, CustomStringConvertible {
    case kernelPanic(line: String)
    case noWorkingInit(line: String)
    case initKilled(line: String)
    case rootNotMounted(line: String)
    /// QEMU ended before the test was done; `stderr` is the end of what it said.
    case exitedEarly(status: String, stderr: [String])
    case timedOut(waitingFor: String, seconds: Int)
    case checkFailed(check: String, expected: String, obtained: String)
    /// The guest was told to power off but QEMU kept running and was killed.
    case poweroffDidNotEndQEMU(graceSeconds: Int)
    /// The boot loader refused what it was to boot (a signature or hash it could not verify).
    case bootLoaderRefused(line: String)

    /// A stable name for scripts reading `--json`.
    public var kind: String {
        switch self {
        case .kernelPanic: "kernel-panic"
        case .noWorkingInit: "no-working-init"
        case .initKilled: "init-killed"
        case .rootNotMounted: "root-not-mounted"
        case .exitedEarly: "qemu-exited-early"
        case .timedOut: "timeout"
        case .checkFailed: "check-failed"
        case .poweroffDidNotEndQEMU: "poweroff-did-not-end-qemu"
        case .bootLoaderRefused: "boot-loader-refused"
        }
    }

    public var description: String {
        switch self {
        case let .kernelPanic(line): "kernel panic: \(line)"
        case let .noWorkingInit(line): "the kernel found no working init: \(line)"
        case let .initKilled(line):
            "init exited, which the kernel does not survive: \(line)"
                // The exit code is the signal that killed it; 4, SIGILL, is the mark of a kernel/userspace ABI mismatch.
                + (line.hasSuffix("exitcode=0x00000004")
                   ? "\n    hint: init died of SIGILL: the kernel leaves off an instruction set extension the userspace uses (the FPU, most often);"
                     + " see the toolchain's kernel_requires and the 'base ISA extensions' or 'VFP' lines of the kernel log" : "")
        case let .rootNotMounted(line): "the kernel could not mount a root filesystem: \(line)"
        case let .exitedEarly(status, stderr):
            "QEMU exited (\(status)) before the test was done" + stderr.map { "\n    qemu: \($0)" }.joined()
        case let .timedOut(what, seconds): "timed out after \(seconds) s waiting for \(what)"
        case let .checkFailed(check, expected, obtained): "\(check): expected '\(expected)', obtained '\(obtained)'"
        case let .poweroffDidNotEndQEMU(grace): "poweroff did not end QEMU within \(grace) s; QEMU was killed"
        case let .bootLoaderRefused(line): "the boot loader refused the image: \(line)"
        }
    }

    private enum CodingKeys: String, CodingKey { case kind, message }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(description, forKey: .message)
    }
}

public struct BootCheck: Sendable, Equatable, Encodable {
    public var name: String
    public var expected: String
    /// Nil when no answer came.
    public var obtained: String?
    public var passed: Bool
}

/// The verdict of a headless boot test and what it is based on.
public struct BootReport: Sendable, Encodable {
    public let board: String
    /// Shell-quoted, to reproduce the run by hand.
    public let command: String
    public let accelerator: Accelerator
    public let passed: Bool
    public let failure: BootFailure?
    public let banner: String?
    public let secondsToBanner: Double?
    public let totalSeconds: Double
    public let checks: [BootCheck]
    /// How QEMU ended, e.g. `exit status 0`, or `killed by signal 9` when bspgen had to stop it.
    public let exitStatus: String
    /// The end of the console, for a failure; empty when the test passed.
    public let lastConsoleLines: [String]
    /// The whole console output.
    public let log: String
    /// When each milestone's line appeared, in seconds since QEMU started, in the order seen.
    public var milestones: [BootMilestoneTime] = []
}

public struct BootMilestoneTime: Sendable, Equatable, Encodable {
    public var name: String
    public var seconds: Double
}
