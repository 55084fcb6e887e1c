import Foundation

/// The files a Raspberry Pi `config.txt` makes the firmware load.
public enum RaspberryPiConfig {
    public static func namedFiles(_ text: String) -> [String] {
        var files: [String] = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.hasPrefix("initramfs ") {
                if let file = line.split(separator: " ").dropFirst().first { files.append(String(file)) }
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[1].isEmpty else { continue }
            switch parts[0] {
            case "kernel", "device_tree", "ramfsfile", "armstub": files.append(parts[1])
            case "dtoverlay": files.append("overlays/\(parts[1].split(separator: ",").first ?? "").dtbo")
            default: break
            }
        }
        return files
    }
}

/// The files a U-Boot script loads from its partition: the last word of each `load`/`fatload`/`ext4load` line,
/// when it is a literal name.
public enum BootScript {
    public static func loadedFiles(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let words = line.split(separator: " ").map(String.init)
            guard let command = words.first, ["load", "fatload", "ext4load"].contains(command), words.count >= 5,
                  let file = words.last, !file.contains("$") else { return nil }
            return file
        }
    }
}
