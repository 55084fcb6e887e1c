import BoardModel
import Foundation
import Host

/// A Kconfig component of a board (the kernel, the boot loader, BusyBox) as `bspgen menuconfig` sees it: its
/// configured `.config`, the command that opens menuconfig on it, and the board's fragments for it.
public struct ConfigurableComponent: Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case kernel, bootloader, busybox
    }

    public var kind: Kind
    public var config: URL
    public var menuconfig: Command
    /// Where changes go by default: the board's last fragment for this component.
    public var fragments: [URL]

    /// Configures (or reuses) the component's build, ready for menuconfig.
    public static func prepare(_ kind: Kind, environment: BuildEnvironment) async throws -> ConfigurableComponent {
        let board = environment.board
        switch kind {
        case .kernel:
            let builder = KernelBuilder(environment: environment)
            let configuration = try await builder.configure()
            return ConfigurableComponent(kind: kind, config: configuration.config, menuconfig: builder.menuconfigCommand(configuration),
                                         fragments: board.kernelFragments)
        case .bootloader:
            let builder = BootloaderBuilder(environment: environment)
            guard let built = try await builder.build() else {
                throw BuildError.bootloader(message: "\(board.file.lastPathComponent) has no bootloader section to configure")
            }
            let buildDirectory = built.config.deletingLastPathComponent()
            return ConfigurableComponent(kind: kind, config: built.config,
                                         menuconfig: builder.make(built.source, ["menuconfig"], in: buildDirectory), fragments: board.bootloaderFragments)
        case .busybox:
            let builder = BusyBoxBuilder(environment: environment)
            let built = try await builder.build()
            let buildDirectory = built.stagingTree.deletingLastPathComponent().appendingPathComponent("build", isDirectory: true)
            return ConfigurableComponent(kind: kind, config: buildDirectory.appendingPathComponent(".config"),
                                         menuconfig: builder.make(built.source, ["menuconfig"], in: buildDirectory), fragments: board.busyboxFragments)
        }
    }
}
