import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU seconds (user + system) used so far by this process and by its children that have ended: every make,
/// compiler, shell and QEMU bspgen starts is waited for, so its time (and its own children's) lands in
/// `children`. The difference of two readings is what happened in between.
public struct CPUTime: Sendable, Equatable {
    /// Children that have been waited for, and theirs.
    public var children: Double
    /// This process: bspgen's own work (hashing, packing, SBOMs) on all its threads.
    public var own: Double

    public init(children: Double, own: Double) {
        self.children = children
        self.own = own
    }

    public static func now() -> CPUTime {
        CPUTime(children: seconds(of: childrenWho), own: seconds(of: selfWho))
    }

    public static func - (later: CPUTime, earlier: CPUTime) -> CPUTime {
        CPUTime(children: later.children - earlier.children, own: later.own - earlier.own)
    }

    #if canImport(Glibc)
    private static let childrenWho = __rusage_who_t(RUSAGE_CHILDREN.rawValue)
    private static let selfWho = __rusage_who_t(RUSAGE_SELF.rawValue)
    private static func seconds(of who: __rusage_who_t) -> Double {
        var usage = rusage()
        guard getrusage(who, &usage) == 0 else { return 0 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
    #else
    private static let childrenWho = RUSAGE_CHILDREN
    private static let selfWho = RUSAGE_SELF
    private static func seconds(of who: Int32) -> Double {
        var usage = rusage()
        guard getrusage(who, &usage) == 0 else { return 0 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
    #endif

    private static func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
}

/// The wall time and CPU time of one measured step, and how much of the machine it used.
public struct StepMeasurement: Sendable, Equatable, Codable {
    public var wallSeconds: Double
    /// CPU seconds of the processes the step started.
    public var childCPUSeconds: Double
    /// CPU seconds of bspgen's own process during the step (0 for commands run by hand, which are all children).
    public var ownCPUSeconds: Double
    /// The machine's cores: the most CPU seconds a second of wall time can hold.
    public var cores: Int
    /// The 1-minute load average sampled every few seconds during the step, averaged: above the cores, other work
    /// took CPU the step could have used, and its utilisation is a lower bound.
    public var meanLoad: Double?

    public init(wallSeconds: Double, childCPUSeconds: Double, ownCPUSeconds: Double = 0, cores: Int, meanLoad: Double? = nil) {
        self.wallSeconds = wallSeconds
        self.childCPUSeconds = childCPUSeconds
        self.ownCPUSeconds = ownCPUSeconds
        self.cores = max(1, cores)
        self.meanLoad = meanLoad
    }

    public var cpuSeconds: Double { childCPUSeconds + ownCPUSeconds }

    /// CPU seconds / (cores × wall): 1 when every core was busy for the whole step.
    public var utilisation: Double? {
        wallSeconds > 0 ? cpuSeconds / (Double(cores) * wallSeconds) : nil
    }

    /// The shortest wall time the step's CPU seconds allow on these cores.
    public var cpuBoundSeconds: Double { cpuSeconds / Double(cores) }

    enum CodingKeys: String, CodingKey {
        case wallSeconds = "wall_seconds", childCPUSeconds = "child_cpu_seconds", ownCPUSeconds = "own_cpu_seconds", cores
        case cpuSeconds = "cpu_seconds", utilisation, meanLoad = "mean_load"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(wallSeconds, forKey: .wallSeconds)
        try container.encode(childCPUSeconds, forKey: .childCPUSeconds)
        try container.encode(ownCPUSeconds, forKey: .ownCPUSeconds)
        try container.encode(cores, forKey: .cores)
        try container.encode(cpuSeconds, forKey: .cpuSeconds)
        try container.encodeIfPresent(utilisation, forKey: .utilisation)
        try container.encodeIfPresent(meanLoad, forKey: .meanLoad)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(wallSeconds: try container.decode(Double.self, forKey: .wallSeconds),
                  childCPUSeconds: try container.decode(Double.self, forKey: .childCPUSeconds),
                  ownCPUSeconds: try container.decode(Double.self, forKey: .ownCPUSeconds),
                  cores: try container.decode(Int.self, forKey: .cores),
                  meanLoad: try container.decodeIfPresent(Double.self, forKey: .meanLoad))
    }

    /// Runs `body` and measures it. Steps measured this way must not overlap: CPU time is the whole process's.
    public static func of<T>(cores: Int = ProcessInfo.processInfo.activeProcessorCount,
                             _ body: () async throws -> T) async rethrows -> (T, StepMeasurement) {
        let samples = LoadSamples()
        let sampler = Task {
            while !Task.isCancelled {
                if let load = HostLoad.oneMinute() { await samples.add(load) }
                try? await Task.sleep(for: .seconds(5))
            }
        }
        let cpu = CPUTime.now()
        let start = ContinuousClock.now
        let value: T
        do {
            value = try await body()
        } catch {
            sampler.cancel()
            throw error
        }
        let wall = (ContinuousClock.now - start)
        let used = CPUTime.now() - cpu
        sampler.cancel()
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        return (value, StepMeasurement(wallSeconds: seconds, childCPUSeconds: used.children, ownCPUSeconds: used.own, cores: cores,
                                   meanLoad: await samples.mean))
    }

    /// Several steps one after another, as one; the mean load weighted by each step's wall time.
    public static func sum(_ parts: [StepMeasurement]) -> StepMeasurement {
        let wall = parts.map(\.wallSeconds).reduce(0, +)
        let loaded = parts.filter { $0.meanLoad != nil }
        let loadedWall = loaded.map(\.wallSeconds).reduce(0, +)
        let meanLoad = loadedWall > 0 ? loaded.map { ($0.meanLoad ?? 0) * $0.wallSeconds }.reduce(0, +) / loadedWall : nil
        return StepMeasurement(wallSeconds: wall, childCPUSeconds: parts.map(\.childCPUSeconds).reduce(0, +),
                           ownCPUSeconds: parts.map(\.ownCPUSeconds).reduce(0, +), cores: parts.first?.cores ?? 1, meanLoad: meanLoad)
    }
}

/// The load averages `StepMeasurement.of` reads while its step runs.
private actor LoadSamples {
    private var values: [Double] = []
    func add(_ value: Double) { values.append(value) }
    var mean: Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
}

/// The 1-minute load average when a run starts (from /proc/loadavg): other work on the machine makes every
/// time longer, and a bench on a shared machine should say so.
public enum HostLoad {
    public static func oneMinute() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}
