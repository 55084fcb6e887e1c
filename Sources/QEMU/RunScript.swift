import Foundation
import Host

extension QEMUCommandLine {
    /// `run-qemu.sh`: a POSIX shell script that boots the board on the user's terminal. Arguments to the script
    /// are appended to QEMU's.
    ///
    /// The script goes into the output folder and its checksum into the manifest, so its text depends on the
    /// board and the artifact names only: `accelerator` is not used (the script chooses KVM or TCG on the host
    /// that runs it, as `Accelerator.choose` does for bspgen's own boots) and artifact paths are relative to
    /// `folder`, where the script is written, so the folder can be moved. An artifact outside `folder` would put
    /// a path of the build host into the script, so it is refused.
    public func runScript(in folder: URL) throws(QEMUError) -> String {
        try checkArtifacts(areIn: folder)
        var words = argv(relativeTo: folder).map(shellQuote)
        // Extra arguments may not contain -accel, so the first one is bspgen's.
        if let option = words.firstIndex(of: "-accel"), option + 1 < words.count {
            words[option + 1] = "\"$accelerator\""
        }
        // One option with its values per line, so the script reads like the QEMU documentation.
        var lines: [[String]] = []
        for word in words {
            if word.hasPrefix("-") || lines.isEmpty { lines.append([word]) } else { lines[lines.count - 1].append(word) }
        }
        let body = (lines.map { $0.joined(separator: " ") } + ["\"$@\""]).joined(separator: " \\\n    ")
        // Where the architecture names CPU flags for KVM, /dev/kvm may open without them, yet a normal kernel hangs.
        let cpuFlagTest = "    " + (kvmCPUFlags.isEmpty ? "" : "grep -Eq '^flags[[:space:]]*:(.*[[:space:]])?("
            + kvmCPUFlags.joined(separator: "|") + ")([[:space:]]|$)' /proc/cpuinfo 2>/dev/null || return 1\n    ")
        let trial = ([spec.binary] + AcceleratorProbe.kvmTrialArguments(for: spec)).map(shellQuote).joined(separator: " ")
        return """
            #!/bin/sh
            # Boots board \(board) in QEMU with its console on this terminal. Quit QEMU with Ctrl-A then X.
            # Written by bspgen; paths are relative to this script's folder, so the folder can be moved.
            set -e
            cd "$(dirname "$0")"

            # KVM when it works for this machine on this host, else TCG. Found by trying, here and now: the
            # machine that ran bspgen may have had another answer. BSPGEN_ACCEL=tcg (or kvm) skips the trial.
            kvm_works() {
                [ "$(uname -m)" = \(shellQuote(guestArch)) ] || return 1
            \(cpuFlagTest)limit=
                if command -v timeout >/dev/null 2>&1; then limit="timeout \(AcceleratorProbe.trialSeconds)"; fi
                # The machine is created and stopped (-S); the monitor on stdin then takes 'quit'.
                echo quit | $limit \(trial) >/dev/null 2>&1
            }
            if [ -n "${BSPGEN_ACCEL:-}" ]; then
                accelerator=$BSPGEN_ACCEL
            elif kvm_works; then
                accelerator=kvm
            else
                accelerator=tcg
            fi

            exec \(body)

            """
    }

    /// The artifacts QEMU is given on this command line must all be inside `folder`.
    private func checkArtifacts(areIn folder: URL) throws(QEMUError) {
        var used = disks.map(\.image) + (loader.map { [$0] } ?? [])
        // Firmware of the host (a Debian package's file under /usr) is named by its absolute path on purpose.
        if let firmware, firmware.standardizedFileURL.path.hasPrefix(folder.standardizedFileURL.path + "/") { used.append(firmware) }
        if firmware == nil, loader == nil {
            used += [artifacts.kernel, artifacts.initramfs]
            if spec.dtb == true, let deviceTree = artifacts.deviceTree { used.append(deviceTree) }
        }
        let base = folder.standardizedFileURL.path + "/"
        if let outside = used.first(where: { !$0.standardizedFileURL.path.hasPrefix(base) }) {
            throw QEMUError.artifactOutsideScriptFolder(board: board, path: outside.path, folder: folder.path)
        }
    }
}
